"""archlint's built-in rules: one module per lesson, each a plugin in the `archlint` entry-point group.

This package is a plugin like any third-party one: it imports only the public rule API
(`archlint.rulekit`), is registered only through the entry points in pyproject.toml, and the engine
never imports it.
"""

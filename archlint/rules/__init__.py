"""archlint's built-in rules: one module per lesson, each a plugin in the `archlint` entry-point group."""

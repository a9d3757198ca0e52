"""Third-party plugins that misbehave, for the bad-input catalogue and test_plugins.py.

`Counter` is a well-behaved rule (one finding per Linear layer, with its parameter count) run
beside each broken one, to show that the broken plugin does not cost the user the other findings.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from archlint import Finding, Rule, hookimpl


class Counter(Rule):
    code = "XT100"
    name = "linear-counter"
    summary = "one finding per Linear layer (a well-behaved rule)"

    def check(self, ctx: Any) -> Any:
        for node in ctx.graph.nodes("linear"):
            yield Finding.at(node, self.code, f"Linear layer with {node.params} parameters")


class Raises(Rule):
    code = "XT200"
    name = "raising-rule"
    summary = "crashes on every model"

    def check(self, ctx: Any) -> Any:
        layers = ctx.graph.nodes("conv")
        return [Finding.at(layers[0], self.code, "first conv")]   # IndexError on a model without convs


class ReturnsNumber(Rule):
    code = "XT300"
    name = "number-rule"
    summary = "returns an int instead of findings"

    def check(self, ctx: Any) -> Any:
        return 42


class YieldsStrings(Rule):
    code = "XT400"
    name = "string-rule"
    summary = "yields strings instead of findings"

    def check(self, ctx: Any) -> Any:
        yield "this layer looks odd"


class Slow(Rule):
    code = "XT500"
    name = "slow-rule"
    summary = "takes far longer than any time limit"

    def check(self, ctx: Any) -> Any:
        time.sleep(3600)
        return []


def plugin(*rules: Any, name: str) -> Any:
    """A plugin object providing `rules` (instances, classes or garbage) from archlint_rules."""

    class _Plugin:
        __name__ = name

        @hookimpl
        def archlint_rules(self) -> list[Any]:
            return list(rules)

    return _Plugin()


class _HookRaises:
    __name__ = "rules-hook-raises"

    @hookimpl
    def archlint_rules(self) -> list[Any]:
        raise RuntimeError("plugin failed to read its settings file")


class _MisspelledHook:
    __name__ = "misspelled-hook"

    @hookimpl
    def archlint_rule(self) -> list[Any]:   # missing "s": not a hook archlint knows
        return [Counter()]


class _NoCode(Rule):
    name = "no-code-rule"
    summary = "forgot to set a code"

    def check(self, ctx: Any) -> Any:
        return []


def hook_raises() -> Any:
    return _HookRaises()


def misspelled_hook() -> Any:
    return _MisspelledHook()


def no_code_rule() -> Any:
    return plugin(_NoCode(), name="no-code-plugin")


def write_broken_distribution(site: Path, target: str = "archlint_missing_plugin_module") -> None:
    """An installed distribution (dist-info on `site`) whose archlint entry point names a missing module."""
    info = site / "archlint_broken_plugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: archlint-broken-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[archlint]\nbroken-plugin = {target}\n")


def garbage_rules() -> Any:
    """archlint_rules returns things that are not rules."""
    return plugin(42, "large-kernel", None, name="garbage-plugin")

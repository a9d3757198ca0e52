"""A test-only plugin whose rule crashes on every model (to check isolation: AL000, others still run)."""
from __future__ import annotations

from archlint import Rule, Severity, hookimpl


class Crashes(Rule):
    code = "XT990"
    name = "crashing-rule"
    summary = "raises ZeroDivisionError"
    severity = Severity.WARNING

    def check(self, ctx):
        return [1 / 0]


@hookimpl
def archlint_rules():
    return [Crashes()]

"""Which codes run and at what severity: select / extend-select / ignore, like ruff."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from archlint.plugin.findings import Severity
from archlint.plugin.rule import Rule


def _matches(selector: str, code: str, rule: Rule) -> int:
    """How specifically `selector` names `code` (0: not at all). Names and full codes beat prefixes."""
    if selector in ("ALL", "all"):
        return 1
    if selector == rule.name:
        return 2
    if code.startswith(selector):
        return 2 + len(selector)
    return 0


@dataclass
class Selection:
    select: list[str] = field(default_factory=lambda: ["ALL"])
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)

    def enabled(self, code: str, rule: Rule) -> bool:
        """The most specific selector wins; ignore wins a tie."""
        chosen = max((_matches(s, code, rule) for s in self.select + self.extend_select), default=0)
        ignored = max((_matches(s, code, rule) for s in self.ignore), default=0)
        return chosen > 0 and chosen > ignored

    def rule_enabled(self, rule: Rule) -> bool:
        return any(self.enabled(code, rule) for code in rule.all_codes())


# Emitted by the runner itself when a rule crashes; selectable like a rule's code.
ENGINE_CODES = {"AL000": "internal-error"}


def unknown_selectors(selectors: Iterable[str], rules: Iterable[Rule]) -> list[str]:
    rules = list(rules)
    known_codes = {code for r in rules for code in r.all_codes()} | set(ENGINE_CODES)
    names = {r.name for r in rules} | set(ENGINE_CODES.values())
    return [s for s in selectors
            if s not in ("ALL", "all") and s not in names and not any(c.startswith(s) for c in known_codes)]


def effective_severity(code: str, rule: Rule, overrides: dict[str, str]) -> Severity:
    for key in (code, rule.name):
        if key in overrides:
            return Severity.parse(overrides[key])
    return rule.severity

"""The Rule type every rule plugin (built-in or third-party) provides."""
from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from archlint.plugin.findings import Finding, Severity

if TYPE_CHECKING:
    from archlint.plugin.context import CheckContext


@dataclass(frozen=True)
class Option:
    """A rule option: a threshold or switch users set in config (`[tool.archlint.rules.<name>]`)."""

    name: str
    default: Any
    help: str

    def coerce(self, value: Any) -> Any:
        """Validate a configured value against the default's type; raise ValueError naming the option."""
        kind = type(self.default)
        if kind is bool:
            if isinstance(value, bool):
                return value
        elif kind in (int, float):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return kind(value) if kind is float or float(value).is_integer() else value
        elif isinstance(value, kind):
            return value
        raise ValueError(f"option {self.name!r} expects {kind.__name__}, got {value!r}")


class Rule:
    """A check of one lesson.

    Subclasses set the class attributes and implement `check`. `code` is the main code;
    `codes` maps every code the rule can emit (sub-codes included) to a one-line title.
    Docs come from the rule's module docstring (What it finds / Why it matters / Example / Fix).
    `needs_probe` says the rule measures with a forward/backward pass (see archlint.analysis.probe).
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    options: ClassVar[tuple[Option, ...]] = ()
    codes: ClassVar[dict[str, str]] = {}
    needs_probe: ClassVar[bool] = False

    def check(self, ctx: "CheckContext") -> Iterable[Finding]:
        raise NotImplementedError

    @classmethod
    def all_codes(cls) -> dict[str, str]:
        return {cls.code: cls.summary, **cls.codes}

    @classmethod
    def docs(cls) -> str:
        module = sys.modules.get(cls.__module__)
        text = inspect.getdoc(module) if module else None
        return text or inspect.getdoc(cls) or cls.summary

    @classmethod
    def default_options(cls) -> dict[str, Any]:
        return {o.name: o.default for o in cls.options}

    def __repr__(self) -> str:
        return f"<Rule {self.code} {self.name}>"

"""The Rule type every rule plugin (built-in or third-party) provides."""
from __future__ import annotations

import inspect
import sys
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterable

from archlint.plugin.findings import Finding, Severity

if TYPE_CHECKING:
    from archlint.rulekit.context import CheckContext


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
    Docs come from the rule's module docstring (What it finds / Why it matters / Example / Fix); the
    Options section is generated from `options`, so a default is written in one place only.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    severity: ClassVar[Severity] = Severity.WARNING
    options: ClassVar[tuple[Option, ...]] = ()
    codes: ClassVar[dict[str, str]] = {}
    # The rule reads the operations between modules (pooling, flatten, reshape, adds) from the graph. A graph
    # of module calls only (the hooks tracers) does not have them: such a rule is not run there, and the
    # report says it could not judge.
    needs_operations: ClassVar[bool] = False
    REQUIRED_SECTIONS: ClassVar[tuple[str, ...]] = ("What it finds", "Why it matters", "Example", "Fix")

    def check(self, ctx: "CheckContext") -> Iterable[Finding]:
        raise NotImplementedError

    @classmethod
    def all_codes(cls) -> dict[str, str]:
        return {cls.code: cls.summary, **cls.codes}

    @classmethod
    def docs(cls) -> str:
        """The rule's documentation: its module docstring, then its options with their defaults."""
        module = sys.modules.get(cls.__module__)
        text = (inspect.getdoc(module) if module else None) or inspect.getdoc(cls) or cls.summary
        if not cls.options:
            return text
        lines = [f"Options (in [tool.archlint.rules.{cls.name}], or rule_options={{{cls.name!r}: ...}})"]
        for option in cls.options:
            lines.append(f"    {option.name.replace('_', '-')} = {option.default!r}")
            lines.extend(textwrap.wrap(option.help, 92, initial_indent="        ", subsequent_indent="        "))
        return text.rstrip() + "\n\n" + "\n".join(lines)

    @classmethod
    def default_options(cls) -> dict[str, Any]:
        return {o.name: o.default for o in cls.options}

    def __repr__(self) -> str:
        return f"<Rule {self.code} {self.name}>"

"""What a rule reports: findings, their suggested fix and their measured effect."""
from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Any

from archlint.mechanics.source import source_position
from archlint.plugin.changes import CallEdit, Change


class Severity(enum.IntEnum):
    INFO = 1
    WARNING = 2
    ERROR = 3

    @classmethod
    def parse(cls, value: "str | Severity") -> "Severity":
        if isinstance(value, Severity):
            return value
        try:
            return cls[str(value).strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {value!r} (expected info, warning or error)") from None

    def __str__(self) -> str:
        return self.name.lower()


class RaceTask(str, enum.Enum):
    """What the race trains both models on, when the user gives no data: a rule names the task its lesson needs."""

    TRAINABILITY = "fit random targets"                  # can the model fit a fixed set of random inputs at all
    FAR_REGIONS = "tell which of two far-apart patches is brighter"   # what the model can see: a receptive field


@dataclass(frozen=True)
class Fix:
    """A change suggested for this model: one sentence and a code snippet with its real numbers.

    `change` is the same change as data the engine executes (`archlint.plugin.changes`): it is applied to a copy of
    the model and verified (the fixed copy builds, runs the example input, and gives outputs of the same shapes and
    dtypes); the runner sets `verified`, and `edit` (the unified diff of the user's file) when the change is an edit
    of one call. A fix without a change is a suggestion the engine cannot run; its finding says why."""

    summary: str
    snippet: str = ""
    change: Change | None = None
    verified: bool | None = None
    edit: str | None = None
    call_edit: CallEdit | None = None      # the same edit as data, for --diff / --fix over a whole file
    race_task: RaceTask = RaceTask.TRAINABILITY   # what `--race` trains on to compare the model with its fix

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"summary": self.summary, "snippet": self.snippet}
        if self.change is not None:
            found["verified"] = bool(self.verified)
        if self.edit is not None:
            found["edit"] = self.edit
        return found


@dataclass(frozen=True)
class Metric:
    """One number measured on the user's model, before and (if a fix was measured) after.

    `method` says how it was measured (e.g. "probe: batch 2, seed 0, loss sum(out**2)"), so a
    reader can reproduce it. A value that was not measured is None, never a guess.
    """

    name: str
    before: float | int | str | None
    after: float | int | str | None = None
    unit: str = ""
    method: str = ""


class RaceVerdict(str, enum.Enum):
    """What a race says of the fixed model against the model as it is."""

    BETTER = "trains better"
    WORSE = "trains worse"
    NO_DIFFERENCE = "no difference within seed noise"

    __str__ = str.__str__


@dataclass(frozen=True)
class Race:
    """A short training race of the model as it is against its fixed copy (`archlint check --race`): the loss curve
    of each seed on both sides, the median final loss (mean of the last tenth of steps) and the spread between seeds,
    and the verdict, given only when the difference is larger than the spread."""

    task: str
    steps: int
    batch: int
    optimiser: str
    seeds: tuple[int, ...]
    before: tuple[tuple[float, ...], ...]     # per seed, the model as it is
    after: tuple[tuple[float, ...], ...]      # per seed, the fixed model
    final_before: float
    final_after: float
    spread_before: float
    spread_after: float
    verdict: RaceVerdict
    budget: str           # what fit: "200 steps in 12.3 s of a 30 s allowance"
    device: str = "cpu"

    @property
    def method(self) -> str:
        return (f"race: {self.task}; {self.steps} steps, {self.optimiser}, seeds {', '.join(map(str, self.seeds))}, "
                f"same batches and random stream for both, each from its own weights (the fix keeps the others); "
                f"final loss = mean of the last tenth of steps, median over seeds (spread: max - min); "
                f"{self.budget}, {self.device}")

    def metric(self) -> Metric:
        return Metric(f"training loss after {self.steps} steps", float(f"{self.final_before:.6g}"),
                      float(f"{self.final_after:.6g}"), "",
                      f"{self.method}; spread {self.spread_before:.3g} / {self.spread_after:.3g}: "
                      f"{self.verdict.value}")

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["verdict"] = self.verdict.value
        return found


@dataclass(frozen=True)
class Finding:
    """A design problem found on one layer (or the whole model) of one model.

    Rules fill code, message, the location (`module`, and `file`/`line` via `Finding.at`),
    `fix` and `effect`. The runner fills `rule`, `severity` (from the rule's default or the
    config) and `model`. `unmeasured` lists, in words, what the rule could not measure and why.
    """

    code: str
    message: str
    module: str = ""
    file: str | None = None
    line: int | None = None
    fix: Fix | None = None
    effect: tuple[Metric, ...] = ()
    unmeasured: tuple[str, ...] = ()
    rule: str = ""
    severity: Severity | None = None
    model: str = ""
    race: Race | None = None

    @classmethod
    def at(cls, node: Any, code: str, message: str, **kwargs: Any) -> "Finding":
        """A finding located at a graph node (anything with module_path and source)."""
        source = getattr(node, "source", None)
        return cls(
            code=code,
            message=message,
            module=getattr(node, "module_path", None) or getattr(node, "name", ""),
            file=source.file if source else None,
            line=source.line if source else None,
            **kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (see README, 'JSON output')."""
        return {
            "code": self.code,
            "rule": self.rule,
            "severity": str(self.severity) if self.severity else None,
            "module": self.module,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "fix": self.fix.to_dict() if self.fix else None,
            "effect": [asdict(m) for m in self.effect],
            "unmeasured": list(self.unmeasured),
            **({"race": self.race.to_dict()} if self.race is not None else {}),
        }


# -- how a finding reads, in every format -----------------------------------------------------------

def format_number(value: object) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def metric_line(metric: Metric) -> str:
    unit = f" {metric.unit}" if metric.unit else ""
    text = f"{metric.name}: {format_number(metric.before)}{unit}"
    if metric.after is not None:
        text += f" -> {format_number(metric.after)}{unit}"
    if metric.method:
        text += f"  [{metric.method}]"
    return text


def location(finding: Finding) -> str:
    if finding.file:
        return source_position(finding.file, finding.line or 0)
    return f"<{finding.model}>"


def finding_lines(finding: Finding) -> list[str]:
    """A finding as ruff-style lines: location, code, message; then fix, snippet and effect."""
    where = f" ({finding.module})" if finding.module else ""
    lines = [f"{location(finding)}: {finding.code} [{finding.severity}] {finding.message}{where}"]
    if finding.fix:
        lines.append(f"  fix: {finding.fix.summary}")
        lines.extend(f"    | {line}" for line in finding.fix.snippet.splitlines())
    lines.extend(f"  effect: {metric_line(m)}" for m in finding.effect)
    lines.extend(f"  not measured: {why}" for why in finding.unmeasured)
    return lines


def finding_summary_line(finding: Finding) -> str:
    """A finding on one line: where, code, message, then its fix and measured effect (for assertions)."""
    where = f" ({finding.module})" if finding.module else ""
    model = f"{finding.model}: " if finding.model and finding.file else ""
    parts = [f"{model}{location(finding)}: {finding.code} {finding.rule} [{finding.severity}] {finding.message}{where}"]
    if finding.fix:
        parts.append(f"fix: {finding.fix.summary}")
    parts.extend(f"effect: {metric_line(m)}" for m in finding.effect)
    parts.extend(f"not measured: {why}" for why in finding.unmeasured)
    return " | ".join(parts)


def finding_text(finding: Finding) -> str:
    """The message, then the fix and each measured effect, as plain text lines."""
    lines = [finding.message + (f" ({finding.module})" if finding.module else "")]
    if finding.fix:
        lines.append(f"Fix: {finding.fix.summary}")
        if finding.fix.snippet:
            lines.append(finding.fix.snippet)
    lines.extend(f"Effect: {metric_line(m)}" for m in finding.effect)
    lines.extend(f"Not measured: {why}" for why in finding.unmeasured)
    return "\n".join(lines)

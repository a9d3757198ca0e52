"""The result of a run: per-model reports with findings, and errors for targets that failed."""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, Callable

from archlint.plugin.findings import Finding, Severity

JSON_VERSION = 1


@dataclass(frozen=True)
class PlotData:
    """What rich formats (HTML) draw for one model; each entry is rows or {"unavailable": why}."""

    receptive_fields: list[dict[str, Any]] | dict[str, str] = field(default_factory=list)
    parameter_split: dict[str, Any] = field(default_factory=dict)
    gradient_norms: list[dict[str, Any]] | dict[str, str] = field(default_factory=list)


class NoteKind(enum.Enum):
    """What a note of a model report is about; formats and front-ends choose by kind, never by its words."""

    INPUT = "input"               # how the example inputs were chosen
    BUILD = "build"               # how and where the model was built (arguments, device, a script's failed work)
    TRACE = "trace"               # what the tracer lost or saw the forward do
    NOT_JUDGED = "not judged"     # rules that could not judge this graph
    NOT_MEASURED = "not measured" # a measurement the run could not make
    BASELINE = "baseline"         # findings a baseline hid or no longer matched
    SKIPPED = "skipped"           # other models of the file that were not linted


@dataclass(frozen=True)
class UnbuiltModel:
    """A model no code could build: its target (`file.py:Name`) and the required parameters nothing supplied, each
    with its annotation as written (`dims: ModelDimensions`), for `archlint check --add-models`."""

    target: str
    parameters: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Note:
    """One note of a model report: its kind, and its words for the user."""

    kind: NoteKind
    text: str
    unbuilt: UnbuiltModel | None = None   # a SKIPPED note's model, typed

    def __str__(self) -> str:
        return self.text


class ErrorKind(str, enum.Enum):
    """Why a target or model is in `Report.errors` (or, for SKIPPED, in `Report.skipped`)."""

    LOAD = "load"
    INPUT = "input"
    TRACE = "trace"
    CONFIG = "config"
    PLUGIN = "plugin"
    TIMEOUT = "timeout"
    MODEL = "model"               # the user's model code raised while archlint ran it
    INTERNAL = "internal"         # an archlint bug
    SKIPPED = "skipped"           # not an error: a directory run's file whose models were not built

    __str__ = str.__str__
    __format__ = str.__format__


@dataclass(frozen=True)
class OutputStyle:
    """How a text-like format is written to one destination: `quiet` keeps findings and errors only, `color`
    paints them (a terminal that wants it)."""

    quiet: bool = False
    color: bool = False
    embedded: bool = False     # shown inside a page (a notebook cell): an HTML fragment, not a whole document


class TargetCause(enum.Enum):
    """Why a target or model was not linted, finer than the stage (`ErrorKind`) it failed at; the words are the
    summary's and the reach benchmark's names for it."""

    NO_SUCH_TARGET = "no such target"
    IMPORT_FAILED = "import failed"
    MISSING_PACKAGE = "missing package"
    VERSION_CONFLICT = "version conflict"     # an installed package imports what another installed one no longer has
    EXITED_AT_IMPORT = "exited at import"
    NO_MODEL = "no model found"
    NEEDS_ARGUMENTS = "needs arguments"
    NOT_BUILT = "could not be built"          # the constructor or factory raised, or returned no model
    NEEDS_DOWNLOAD = "needs a download"       # building it downloads weights or data (never done by archlint)
    NEEDS_DATA = "needs data"                 # it reads a data file this machine does not have (`/data/coco/labels.txt`)
    UNBUILT_EXTENSION = "unbuilt extension"   # it imports a compiled extension of the repository that was not built
    NEEDS_DISTRIBUTED = "needs a distributed runtime"   # torch.distributed.rpc or a process group of several workers
    INPUTS_FAILED = "example inputs failed"
    NO_INPUT_FITS = "no input fits"
    UNTRACEABLE = "untraceable"
    MODEL_CODE_RAISED = "model code raised"
    TIMEOUT = "timeout"
    PLUGIN = "plugin failed"
    INTERNAL = "internal error"


@dataclass
class ModelReport:
    name: str
    target: str = ""
    tracer: str | None = None
    input_shapes: list[list[int]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)         # inferred inputs, tracer losses, skipped measurements
    trace_attempts: list[dict[str, Any]] = field(default_factory=list)
    parameters: int | None = None
    device: str = "cpu"
    rules_run: list[str] = field(default_factory=list)       # name and code of each rule that ran to completion
    plots: PlotData | None = None                             # data for rich formats, when a format asked for it

    def by_rule(self, rule: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == rule or f.code == rule]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target": self.target,
            "tracer": self.tracer,
            "input_shapes": self.input_shapes,
            "parameters": self.parameters,
            "device": self.device,
            "notes": [note.text for note in self.notes],
            "trace_attempts": self.trace_attempts,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class TargetError:
    """A target or model that could not be linted: one line naming it and the cause."""

    target: str
    message: str
    kind: ErrorKind = ErrorKind.LOAD
    cause: TargetCause | None = None
    unbuilt: tuple[UnbuiltModel, ...] = ()   # the models it names that need arguments nothing supplied

    def __post_init__(self) -> None:
        self.kind = ErrorKind(self.kind)

    def to_dict(self) -> dict[str, str]:
        found = {"target": self.target, "kind": self.kind.value, "message": self.message}
        return {**found, "cause": self.cause.value} if self.cause is not None else found

    def __str__(self) -> str:
        return f"{self.target}: {self.message}"


@dataclass
class Report:
    models: list[ModelReport] = field(default_factory=list)
    errors: list[TargetError] = field(default_factory=list)
    # files of a directory run that define models archlint could not build (not errors: counted and said)
    skipped: list[TargetError] = field(default_factory=list)
    # how this report shows itself in a notebook: the run's formats for embedded output, set by the front-end
    # that made it (`archlint.check`); never serialised
    display_formats: dict[str, Callable[["Report"], str]] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        # the display formats are this process's plugins' functions: a report sent to another process (a worker's
        # result) goes without them
        return {**self.__dict__, "display_formats": {}}

    # -- rich display (Jupyter, IPython) ---------------------------------------------------------------------

    def _repr_html_(self) -> str | None:
        render = self.display_formats.get("html")
        return render(self) if render else None

    def _repr_markdown_(self) -> str | None:
        render = self.display_formats.get("markdown")
        return render(self) if render else None

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        render = self.display_formats.get("text")
        printer.text(render(self).rstrip("\n") if render and not cycle else self.summary())

    def severity_counts(self) -> str:
        """`1 error, 2 warning`, or `no findings`."""
        counts: dict[str, int] = {}
        for finding in self.findings:
            counts[str(finding.severity)] = counts.get(str(finding.severity), 0) + 1
        return ", ".join(f"{n} {level}" for level, n in sorted(counts.items())) or "no findings"

    def summary(self) -> str:
        """One line: findings by severity, models, errors."""
        return (f"Found {len(self.findings)} finding(s) in {len(self.models)} model(s) ({self.severity_counts()});"
                f" {len(self.errors)} error(s).")

    @property
    def findings(self) -> list[Finding]:
        return [f for m in self.models for f in m.findings]

    def by_rule(self, rule: str) -> list[Finding]:
        """Findings of a rule, by name (`large-kernel`) or code (`AL501`)."""
        return [f for f in self.findings if f.rule == rule or f.code == rule]

    def failing(self, fail_on: Severity | str = Severity.WARNING) -> list[Finding]:
        level = Severity.parse(fail_on)
        return [f for f in self.findings if f.severity is not None and f.severity >= level]

    def exit_code(self, fail_on: Severity | str = Severity.WARNING) -> int:
        if self.errors:
            return 2
        return 1 if self.failing(fail_on) else 0

    def merge(self, other: "Report") -> None:
        self.models.extend(other.models)
        self.errors.extend(other.errors)
        self.skipped.extend(other.skipped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": JSON_VERSION,
            "models": [m.to_dict() for m in self.models],
            "errors": [e.to_dict() for e in self.errors],
            **({"skipped": [e.to_dict() for e in self.skipped]} if self.skipped else {}),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str)

    def assert_clean(self, fail_on: Severity | str = Severity.WARNING, ignore: list[str] | tuple[str, ...] = ()) -> None:
        """Raise AssertionError listing each finding at or above `fail_on` (one line each, with fix and effect).

        `ignore` takes rule names (`large-kernel`), codes (`AL501`) or code prefixes (`AL70`).
        Targets that could not be linted are problems too: a model that was not checked is not clean.
        """
        from archlint.plugin.findings import finding_summary_line

        ignored = tuple(ignore)
        bad = [f for f in self.failing(fail_on)
               if f.rule not in ignored and not any(f.code.startswith(i) for i in ignored)]
        problems = [f"error: {e}" for e in self.errors] + [finding_summary_line(f) for f in bad]
        if problems:
            codes = sorted({f.code for f in bad})
            hint = f"\n(to accept these, pass ignore={codes!r} to assert_clean)" if codes else ""
            raise AssertionError(f"archlint found {len(problems)} problem(s) at or above {Severity.parse(fail_on)}:\n  "
                                 + "\n  ".join(problems) + hint)

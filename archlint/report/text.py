"""Built-in report formats (text, json), registered through the `archlint_report_formats` hook.

The text format is built as typed lines (a model header, a note, a finding and its details, an error, the
summary), so `--quiet` drops lines by their kind and colour paints a finding's parts from the finding itself:
nothing reads back the words of a rendered line.
"""
from __future__ import annotations

import collections
import enum
import functools
from dataclasses import dataclass
from typing import Callable

from archlint.plugin.findings import Finding, finding_lines, location
from archlint.plugin.hookspecs import hookimpl
from archlint.plugin.results import OutputStyle, Report, TargetCause


class LineKind(enum.Enum):
    HEADER = "header"       # == model (target) · tracer · input · params
    NOTE = "note"
    FINDING = "finding"     # where: CODE [level] message
    DETAIL = "detail"       # a finding's fix, snippet, effects, what was not measured
    ERROR = "error"
    SUMMARY = "summary"


# what --quiet keeps: findings and errors
_QUIET_KEEPS = frozenset({LineKind.FINDING, LineKind.DETAIL, LineKind.ERROR})
_LEVEL_COLORS = {"error": "31", "warning": "33", "info": "36"}


@dataclass(frozen=True)
class TextLine:
    kind: LineKind
    text: str
    finding: Finding | None = None


def text_lines(report: Report) -> list[TextLine]:
    """The whole text report, line by line, each with its kind."""
    out: list[TextLine] = []
    for model in report.models:
        shapes = ", ".join("x".join(map(str, s)) for s in model.input_shapes)
        params = f"{model.parameters:,} params" if model.parameters is not None else "params unknown"
        out.append(TextLine(LineKind.HEADER, f"== {model.name} ({model.target or 'python'}) · tracer {model.tracer} · "
                                             f"input {shapes} · {params}"))
        out.extend(TextLine(LineKind.NOTE, f"  note: {n.text}") for n in model.notes)
        for finding in model.findings:
            first, *details = finding_lines(finding)
            out.append(TextLine(LineKind.FINDING, first, finding))
            out.extend(TextLine(LineKind.DETAIL, line) for line in details)
    out.extend(TextLine(LineKind.ERROR, f"error: {error}") for error in report.errors)
    out.extend(TextLine(LineKind.SUMMARY, line) for line in _summary(report))
    return out


def _summary(report: Report) -> list[str]:
    lines = [report.summary()]
    if report.skipped:
        causes = collections.Counter((s.cause or TargetCause.NOT_BUILT).value for s in report.skipped)
        lines.append(f"{len(report.skipped)} file(s) define models that were not linted ("
                     + ", ".join(f"{cause}: {n}" for cause, n in causes.most_common())
                     + "); `--show-skipped` lists them")
    return lines


def _paint(code: str, part: str) -> str:
    return f"\033[{code}m{part}\033[0m"


def _painted(line: TextLine) -> str:
    """A line in colour: a finding's location, code and level; an error's label; a model header."""
    if line.kind is LineKind.FINDING and line.finding is not None:
        finding, level = line.finding, str(line.finding.severity)
        head = f"{location(finding)}: {finding.code} [{level}]"
        color = _LEVEL_COLORS.get(level, "0")
        return (f"{_paint('1', location(finding) + ': ')}{_paint('1;' + color, finding.code)} "
                f"[{_paint(color, level)}]{line.text[len(head):]}")
    if line.kind is LineKind.ERROR:
        return _paint("1;31", "error:") + line.text[len("error:"):]
    if line.kind is LineKind.HEADER:
        return _paint("1", line.text)
    return line.text


def render_text(report: Report, style: OutputStyle = OutputStyle()) -> str:
    lines = [line for line in text_lines(report) if not style.quiet or line.kind in _QUIET_KEEPS]
    if not lines:
        return ""
    return "\n".join(_painted(line) if style.color else line.text for line in lines) + "\n"


def render_json(report: Report) -> str:
    return report.to_json() + "\n"


@hookimpl
def archlint_report_formats(style: OutputStyle) -> dict[str, Callable[[Report], str]]:
    return {"text": functools.partial(render_text, style=style), "json": render_json}

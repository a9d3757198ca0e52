"""`--format markdown`: the report as Markdown, for notebooks (`Report._repr_markdown_`), pull-request comments
and chat front-ends. The same pieces as the text format: per model its header and notes, per finding its location,
code, message, fix (the snippet as a Python block) and measured effects."""
from __future__ import annotations

from typing import Callable

from archlint.plugin.findings import Finding, location, metric_line
from archlint.plugin.hookspecs import hookimpl
from archlint.plugin.results import ModelReport, Report


def _finding(finding: Finding) -> list[str]:
    where = f" (`{finding.module}`)" if finding.module else ""
    lines = [f"- **{finding.code}** [{finding.severity}] `{location(finding)}`: {finding.message}{where}"]
    if finding.fix:
        lines.append(f"  - fix: {finding.fix.summary}")
        if finding.fix.snippet:
            lines.extend(["", "    ```python", *(f"    {line}" for line in finding.fix.snippet.splitlines()), "    ```", ""])
    lines.extend(f"  - effect: {metric_line(metric)}" for metric in finding.effect)
    lines.extend(f"  - not measured: {why}" for why in finding.unmeasured)
    return lines


def _model(model: ModelReport) -> list[str]:
    shapes = ", ".join("×".join(map(str, s)) for s in model.input_shapes)
    params = f"{model.parameters:,} params" if model.parameters is not None else "params unknown"
    lines = [f"### {model.name}", "", f"tracer {model.tracer} · input {shapes} · {params}", ""]
    lines.extend(f"> note: {note.text}" for note in model.notes)
    if model.notes:
        lines.append("")
    for finding in model.findings:
        lines.extend(_finding(finding))
    if not model.findings:
        lines.append(f"No findings ({', '.join(model.rules_run[::2]) or 'no rule ran'}).")
    return [*lines, ""]


def render_markdown(report: Report) -> str:
    lines = ["## archlint report", "", report.summary(), ""]
    for model in report.models:
        lines.extend(_model(model))
    if report.errors:
        lines.extend(["### Errors", "", *(f"- {error}" for error in report.errors), ""])
    return "\n".join(lines).rstrip("\n") + "\n"


@hookimpl
def archlint_report_formats() -> dict[str, Callable[[Report], str]]:
    return {"markdown": render_markdown}

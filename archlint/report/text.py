"""Built-in report formats (text, json), registered through the `archlint_report_formats` hook."""
from __future__ import annotations

import collections
from typing import Callable

from archlint.plugin.findings import finding_lines
from archlint.plugin.hookspecs import hookimpl
from archlint.plugin.results import Report


def render_text(report: Report) -> str:
    out: list[str] = []
    for model in report.models:
        shapes = ", ".join("x".join(map(str, s)) for s in model.input_shapes)
        params = f"{model.parameters:,} params" if model.parameters is not None else "params unknown"
        out.append(f"== {model.name} ({model.target or 'python'}) · tracer {model.tracer} · input {shapes} · {params}")
        out.extend(f"  note: {n}" for n in model.notes)
        for finding in model.findings:
            out.extend(finding_lines(finding))
    for error in report.errors:
        out.append(f"error: {error}")
    findings = report.findings
    counts = {}
    for f in findings:
        counts[str(f.severity)] = counts.get(str(f.severity), 0) + 1
    summary = ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items())) or "no findings"
    out.append(f"Found {len(findings)} finding(s) in {len(report.models)} model(s) ({summary});"
               f" {len(report.errors)} error(s).")
    if report.skipped:
        causes = collections.Counter(_skip_cause(s.message) for s in report.skipped)
        out.append(f"{len(report.skipped)} file(s) define models that were not linted ("
                   + ", ".join(f"{cause}: {n}" for cause, n in causes.most_common())
                   + "); `--show-skipped` lists them")
    return "\n".join(out) + "\n"


def _skip_cause(message: str) -> str:
    return "needs arguments" if "needs arguments" in message else "could not be built"



def render_json(report: Report) -> str:
    return report.to_json() + "\n"


@hookimpl
def archlint_report_formats() -> dict[str, Callable[[Report], str]]:
    return {"text": render_text, "json": render_json}

"""Built-in report formats (text, json), registered through the `archlint_report_formats` hook."""
from __future__ import annotations

import os
from typing import Callable

from archlint.findings import Finding, Metric
from archlint.plugins import hookimpl
from archlint.report import Report


def _number(value: object) -> str:
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def metric_line(metric: Metric) -> str:
    unit = f" {metric.unit}" if metric.unit else ""
    text = f"{metric.name}: {_number(metric.before)}{unit}"
    if metric.after is not None:
        text += f" -> {_number(metric.after)}{unit}"
    if metric.method:
        text += f"  [{metric.method}]"
    return text


def location(finding: Finding) -> str:
    if finding.file:
        path = os.path.relpath(finding.file) if os.path.isabs(finding.file) else finding.file
        if path.startswith(".." + os.sep + ".."):
            path = finding.file
        return f"{path}:{finding.line or 0}"
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
    return "\n".join(out) + "\n"


def render_json(report: Report) -> str:
    return report.to_json() + "\n"


@hookimpl
def archlint_report_formats() -> dict[str, Callable[[Report], str]]:
    return {"text": render_text, "json": render_json}

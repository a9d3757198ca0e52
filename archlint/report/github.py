"""`--format github`: GitHub Actions workflow commands, one annotation per finding.

`::warning file=models/net.py,line=12,title=AL501 large-kernel::message` shows the finding on
the line in the pull request's diff. The message keeps the fix and the measured effect on further
lines (encoded as %0A, which GitHub renders as line breaks). Escaping follows the runner's rules:
in the message `%`, CR and LF; in property values also `:` and `,`.
"""
from __future__ import annotations

import os
from typing import Callable

from archlint.mechanics.source import display_path
from archlint.plugin.findings import Finding, Severity, finding_text
from archlint.plugin.hookspecs import hookimpl
from archlint.plugin.results import Report

_COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(finding: Finding) -> str:
    command = _COMMANDS.get(finding.severity, "warning") if finding.severity else "warning"
    properties = []
    if finding.file:
        properties.append(f"file={escape_property(display_path(finding.file).replace(os.sep, '/'))}")
        if finding.line:
            properties.append(f"line={int(finding.line)}")
    title = f"{finding.code} {finding.rule}".strip() + (f" ({finding.model})" if finding.model else "")
    properties.append(f"title={escape_property(title)}")
    return f"::{command} {','.join(properties)}::{escape_data(finding_text(finding))}"


def render_github(report: Report) -> str:
    lines = [annotation(f) for f in report.findings]
    lines.extend(f"::error title=archlint {escape_property(e.kind)} error::{escape_data(str(e))}" for e in report.errors)
    return "\n".join(lines) + ("\n" if lines else "")


@hookimpl
def archlint_report_formats() -> dict[str, Callable[[Report], str]]:
    return {"github": render_github}

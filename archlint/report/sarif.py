"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run, tool `archlint`; `tool.driver.rules` lists every code the installed rules can emit
(sub-codes included) with its one-line title and the rule's docs as help text, so a code-scanning
alert explains itself. Each finding is a result with a stable `ruleId` (the code), a `level`, the
message with its fix and measured effect, a repo-relative file and start line, and a
`partialFingerprints` entry keyed by code, model and module path (not the line), so an alert
survives edits that move it. Targets that could not be linted become tool execution notifications.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from typing import Any, Callable, Iterable, Sequence
from urllib.parse import quote

from archlint import __version__
from archlint.plugin.findings import Finding, Severity, finding_text
from archlint.plugin.hookspecs import hookimpl
from archlint.plugin.results import Report
from archlint.plugin.rule import Rule

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
INFORMATION_URI = "https://pypi.org/project/archlint/"
FINGERPRINT_KEY = "archlint/v1"

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def sarif_level(severity: Severity | None) -> str:
    return _LEVELS.get(severity, "warning") if severity is not None else "warning"


def artifact_uri(path: str, root: str | None = None) -> str:
    """A repo-relative URI (forward slashes, percent-encoded) when the file is under `root`."""
    root = os.path.abspath(root or os.getcwd())
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, root)
    if relative.startswith(os.pardir + os.sep) or relative == os.pardir or os.path.isabs(relative):
        return "file://" + quote(absolute.replace(os.sep, "/"))
    return quote(relative.replace(os.sep, "/"))


def fingerprint(finding: Finding) -> str:
    """Stable identity of a finding: code, model and module path; line numbers are left out on purpose."""
    key = "\x1f".join((finding.code, finding.model, finding.module))
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _first_section(docs: str) -> str:
    """The docs up to the first blank line after the title block: a paragraph for fullDescription."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", docs) if p.strip()]
    return paragraphs[0] if paragraphs else docs.strip()


def rule_descriptors(rules: Iterable[Rule]) -> list[dict[str, Any]]:
    """One reportingDescriptor per code (a rule's sub-codes each get their own)."""
    descriptors = []
    for rule in rules:
        docs = rule.docs() or rule.summary
        for code, title in rule.all_codes().items():
            descriptors.append({
                "id": code,
                "name": rule.name if code == rule.code else f"{rule.name}/{code}",
                "shortDescription": {"text": title or rule.summary},
                "fullDescription": {"text": _first_section(docs)},
                "help": {"text": docs, "markdown": docs},
                "defaultConfiguration": {"level": sarif_level(rule.severity)},
                "properties": {"rule": rule.name, "tags": ["architecture", "pytorch"]},
            })
    return descriptors


def _descriptor_for_unknown(finding: Finding) -> dict[str, Any]:
    """A code emitted by a plugin the catalogue did not load (e.g. passed to archlint.check directly)."""
    title = finding.rule or finding.code
    return {
        "id": finding.code,
        "name": finding.rule or finding.code,
        "shortDescription": {"text": title},
        "fullDescription": {"text": f"{title}: see the rule's plugin documentation."},
        "help": {"text": f"Run `archlint explain {finding.code}` for this rule's documentation."},
    }


def _location(finding: Finding, fallback_file: str | None, root: str | None) -> dict[str, Any]:
    location: dict[str, Any] = {}
    file = finding.file or fallback_file
    if file:
        region = {"startLine": max(1, int(finding.line or 1))}
        location["physicalLocation"] = {
            "artifactLocation": {"uri": artifact_uri(file, root), "uriBaseId": "%SRCROOT%"},
            "region": region,
        }
    logical = ".".join(p for p in (finding.model, finding.module) if p)
    if logical:
        location["logicalLocations"] = [{"fullyQualifiedName": logical, "kind": "module"}]
    return location


def _target_file(target: str) -> str | None:
    """`path/to/file.py:Model` or `path/to/file.py` -> the file, when it exists."""
    path = target.rsplit(":", 1)[0] if target.count(":") and not os.path.exists(target) else target
    return path if path.endswith(".py") and os.path.exists(path) else None


def to_sarif(report: Report, rules: Iterable[Rule], root: str | None = None) -> dict[str, Any]:
    """The SARIF log of a report; `rules` (the run's loaded rules) become the driver's rule descriptors."""
    descriptors = rule_descriptors(rules)
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    results = []
    for model in report.models:
        fallback = _target_file(model.target)
        for finding in model.findings:
            if finding.code not in index:
                index[finding.code] = len(descriptors)
                descriptors.append(_descriptor_for_unknown(finding))
            result: dict[str, Any] = {
                "ruleId": finding.code,
                "ruleIndex": index[finding.code],
                "level": sarif_level(finding.severity),
                "message": {"text": finding_text(finding)},
                "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding)},
                "properties": {"model": finding.model or model.name, "module": finding.module,
                               "rule": finding.rule},
            }
            location = _location(finding, fallback, root)
            if location:
                result["locations"] = [location]
            results.append(result)
    notifications = [{"level": "error", "message": {"text": str(error)},
                      "properties": {"kind": error.kind, "target": error.target}} for error in report.errors]
    run = {
        "tool": {"driver": {"name": "archlint", "version": __version__, "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI, "rules": descriptors}},
        "originalUriBaseIds": {"%SRCROOT%": {"uri": _root_uri(root)}},
        "invocations": [{"executionSuccessful": not report.errors,
                         "toolExecutionNotifications": notifications}],
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _root_uri(root: str | None) -> str:
    path = os.path.abspath(root or os.getcwd()).replace(os.sep, "/")
    return "file://" + quote(path.rstrip("/") + "/")


def render_sarif(report: Report, rules: Iterable[Rule]) -> str:
    return json.dumps(to_sarif(report, rules), indent=2) + "\n"


@hookimpl
def archlint_report_formats(rules: Sequence[Rule]) -> dict[str, Callable[[Report], str]]:
    return {"sarif": lambda report: render_sarif(report, rules)}

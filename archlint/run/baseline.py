"""Baselines: accept the findings a project has today, fail only on new ones.

`archlint check --update-baseline --baseline archlint-baseline.json` writes every current finding;
later runs with `--baseline archlint-baseline.json` hide the findings recorded there and fail only
on the others. A finding is identified by its code, its model and its module path — not its line,
so editing the file around a layer keeps it matched, while the same problem on another layer is
new. Identical keys are counted, so a second instance of a known problem on the same layer is new
too. Entries that no longer match anything are reported, so a baseline shrinks as problems are fixed.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

from archlint.plugin.findings import Finding
from archlint.plugin.results import Note, NoteKind, Report

BASELINE_VERSION = 1
BaselineKey = tuple[str, str, str]   # (code, model, module path)


class BaselineError(Exception):
    """The baseline file is missing or unreadable; the message names the file and the cause."""


def finding_key(finding: Finding) -> BaselineKey:
    return (finding.code, finding.model, finding.module)


@dataclass
class BaselineOutcome:
    hidden: int                     # findings matched by the baseline (not reported)
    stale: list[BaselineKey]        # baseline entries that matched nothing this run


def baseline_dict(report: Report) -> dict[str, Any]:
    counts: Counter[BaselineKey] = Counter(finding_key(f) for f in report.findings)
    rules = {finding_key(f): f.rule for f in report.findings}
    entries = [{"code": code, "rule": rules[(code, model, module)], "model": model, "module": module, "count": n}
               for (code, model, module), n in sorted(counts.items())]
    return {"version": BASELINE_VERSION, "tool": "archlint", "findings": entries}


def write_baseline(report: Report, path: str) -> int:
    """Write every finding of `report` to `path` (sorted, so diffs stay small); return how many."""
    data = baseline_dict(report)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
    return sum(entry["count"] for entry in data["findings"])


def load_baseline(path: str) -> Counter[BaselineKey]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} does not exist (create it with --update-baseline)") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"baseline {path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(f"baseline {path} is not an archlint baseline (no 'findings' list)")
    counts: Counter[BaselineKey] = Counter()
    for index, entry in enumerate(data["findings"]):
        try:
            key = (str(entry["code"]), str(entry.get("model", "")), str(entry.get("module", "")))
            counts[key] += int(entry.get("count", 1))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BaselineError(f"baseline {path}: entry {index} needs a 'code' (and 'model', 'module')") from None
    return counts


def apply_baseline(report: Report, baseline: Counter[BaselineKey], source: str = "baseline") -> BaselineOutcome:
    """Remove the findings the baseline knows from `report` (in place); note what was hidden and what is stale."""
    remaining = Counter(baseline)
    hidden = 0
    for model in report.models:
        kept = []
        model_hidden = 0
        for finding in model.findings:
            key = finding_key(finding)
            if remaining[key] > 0:
                remaining[key] -= 1
                model_hidden += 1
            else:
                kept.append(finding)
        if model_hidden:
            model.notes.append(Note(NoteKind.BASELINE, f"{model_hidden} known finding(s) hidden by {source}"))
        model.findings = kept
        hidden += model_hidden
    linted = {m.name for m in report.models}
    # Only entries of models that ran this time can be stale: a run on one file must not call the rest stale.
    stale = sorted(key for key, n in remaining.items() if n > 0 and key[1] in linted)
    for model in report.models:
        gone = [key for key in stale if key[1] == model.name]
        if gone:
            listed = ", ".join(f"{code} {module or '<model>'}" for code, _, module in gone)
            entries = "entry" if len(gone) == 1 else "entries"
            model.notes.append(Note(NoteKind.BASELINE, f"{source}: {len(gone)} {entries} no longer found ({listed}); "
                                                       "refresh it with --update-baseline"))
    return BaselineOutcome(hidden, stale)


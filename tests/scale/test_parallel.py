"""-j N lints in spawned workers with the same result as -j 1; one hanging or crashing model is reported alone."""
from __future__ import annotations

import json
import os
import time

import pytest
import torch
from torch import nn

import archlint
from archlint import Finding, Metric, Rule, Severity, hookimpl
from archlint.run.parallel import lint_many, progress_wanted
from archlint.plugin.results import Report


class WeightSum(Rule):
    """Test-only rule: reports the sum of each Linear's weights, a number that depends on the RNG state."""

    code = "T901"
    name = "weight-sum"
    summary = "test rule"
    severity = Severity.WARNING

    def check(self, ctx):
        for node in ctx.graph.nodes("linear"):
            total = float(node.module.weight.detach().sum())
            yield Finding.at(node, self.code, f"{node.module_path} weight sum {total:.6f}",
                             effect=(Metric("weight_sum", total, None, "", "sum of weights"),))


class WeightSumPlugin:
    @hookimpl
    def archlint_rules(self):
        return [WeightSum()]


class Sleeper(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        time.sleep(600)  # symbolic tracing runs forward's Python: the lint hangs here
        return self.fc(x)


def mlp(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(8, width), nn.ReLU(), nn.Linear(width, 3))


def lint_spec(spec: tuple[str, int]) -> Report:
    """The per-target function the workers run: builds the model (random weights!) and lints it."""
    kind, width = spec
    if kind == "crash":
        os._exit(3)
    if kind == "raise":
        raise ValueError("broken factory")
    model = Sleeper() if kind == "sleep" else mlp(width)
    inputs = torch.randn(2, 4 if kind == "sleep" else 8)
    return archlint.check(model, inputs, name=f"{kind}-{width}", plugins=(WeightSumPlugin(),), select=["T901"])


def target_errors(report: Report) -> list[tuple[str, str]]:
    """Errors of targets (plugin load errors of rules not selected here are not the point)."""
    return [(e.target, e.kind) for e in report.errors if e.kind != "plugin"]


def label(spec: tuple[str, int]) -> str:
    return f"{spec[0]}-{spec[1]}"


@pytest.fixture(autouse=True)
def _no_third_party_plugins(monkeypatch):
    monkeypatch.setenv("ARCHLINT_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_workers_give_byte_identical_json_and_exit_code():
    specs = [("mlp", w) for w in (16, 5, 32, 7)] + [("raise", 0)]
    serial = lint_many(specs, lint_spec, jobs=1, label=label)
    parallel = lint_many(specs, lint_spec, jobs=2, label=label)
    assert serial.to_json() == parallel.to_json()
    assert serial.exit_code() == parallel.exit_code() == 2   # the raising target is an error
    # every target seeded identically: the first model's weight sums equal a fresh seeded build in this process
    torch.manual_seed(0)
    expected = mlp(16)
    sums = [f.effect[0].before for f in serial.models[0].findings]
    assert sums == pytest.approx([float(expected[0].weight.detach().sum()), float(expected[2].weight.detach().sum())], abs=1e-6)
    assert [m.name for m in parallel.models] == ["mlp-16", "mlp-5", "mlp-32", "mlp-7"]
    assert target_errors(parallel) == [("raise-0", "internal")]
    assert any("broken factory" in e.message for e in parallel.errors)
    assert json.loads(parallel.to_json())["version"] == 1


def test_timeout_and_crash_are_reported_and_others_finish():
    specs = [("sleep", 0), ("mlp", 6), ("crash", 0), ("mlp", 9)]
    started = time.monotonic()
    report = lint_many(specs, lint_spec, jobs=2, timeout=8, label=label)
    elapsed = time.monotonic() - started
    assert [m.name for m in report.models] == ["mlp-6", "mlp-9"]
    assert target_errors(report) == [("sleep-0", "timeout"), ("crash-0", "internal")]
    messages = {e.target: e.message for e in report.errors}
    assert "8 s" in messages["sleep-0"]
    assert "died" in messages["crash-0"]
    assert elapsed < 120  # far below the 600 s sleep: the hanging worker was killed


def test_timeout_applies_with_one_job():
    report = lint_many([("sleep", 0)], lint_spec, jobs=1, timeout=5, label=label)
    assert target_errors(report) == [("sleep-0", "timeout")]


def test_progress_bar_only_on_a_terminal_outside_ci(monkeypatch):
    class Terminal:
        def isatty(self):
            return True

    class Pipe:
        def isatty(self):
            return False

    for name in ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD", "CIRCLECI", "TRAVIS"):
        monkeypatch.delenv(name, raising=False)
    assert progress_wanted(Terminal()) is True
    assert progress_wanted(Pipe()) is False
    monkeypatch.setenv("CI", "true")
    assert progress_wanted(Terminal()) is False

"""archlint.check(model, inputs) end to end with the test-only rule plugin."""
from __future__ import annotations

import copy
import random

import pytest
import torch
from torch import nn

import archlint
import archlint_crash_plugin
import archlint_test_plugin


def own_errors(report):
    """Errors other than built-in rule modules that have not landed yet."""
    return [e for e in report.errors if not (e.kind == "plugin" and "archlint_rules." in e.message)]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Linear(16, 64)
        self.norm = nn.BatchNorm1d(64)
        self.drop = nn.Dropout(0.5)
        self.head = nn.Linear(64, 5)

    def forward(self, x):
        return self.head(self.drop(self.norm(self.stem(x)).relu()))


def test_findings_carry_numbers_computed_from_the_model():
    model = Net()
    report = archlint.check(model, torch.randn(4, 16), plugins=(archlint_test_plugin,), select=["XT9"],
                            rule_options={"big-linear": {"max_params": 300}})
    assert own_errors(report) == []
    expected = {name: sum(p.numel() for p in layer.parameters())
                for name, layer in model.named_modules() if isinstance(layer, nn.Linear)}
    flagged = {f.module: f for f in report.by_rule("big-linear")}
    assert set(flagged) == {name for name, n in expected.items() if n > 300} == {"stem", "head"}
    for name, finding in flagged.items():
        assert finding.effect[0].before == expected[name]
        assert finding.code == ("XT902" if expected[name] > 3000 else "XT901")
    assert report.models[0].input_shapes == [[4, 16]] and report.models[0].tracer == "fx"


def test_lint_leaves_the_model_unchanged():
    model = Net().train()
    model.head.weight.requires_grad_(False)
    before = copy.deepcopy(model.state_dict())
    torch.manual_seed(123)
    random.seed(7)
    inputs = torch.randn(4, 16)
    torch_state, py_state = torch.get_rng_state(), random.getstate()
    archlint.check(model, inputs, plugins=(archlint_test_plugin, archlint_crash_plugin))
    assert torch.equal(torch.get_rng_state(), torch_state) and random.getstate() == py_state
    assert all(m.training for m in model.modules())
    assert model.head.weight.requires_grad is False and model.stem.weight.requires_grad is True
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)   # BatchNorm running stats included


def test_crashing_plugin_becomes_AL000_and_others_still_report():
    report = archlint.check(Net(), torch.randn(4, 16), plugins=(archlint_test_plugin, archlint_crash_plugin),
                            select=["XT", "AL000"], rule_options={"big-linear": {"max_params": 300}})
    crashes = report.by_rule("AL000")
    assert len(crashes) == 1 and "XT990 (crashing-rule)" in crashes[0].message
    assert "ZeroDivisionError" in crashes[0].message
    assert sorted(f.module for f in report.by_rule("XT901") + report.by_rule("XT902")) == ["head", "stem"]


def test_inferred_inputs_are_noted_and_classes_are_built():
    report = archlint.check(Net, plugins=(archlint_test_plugin,), select=["XT9"])
    model = report.models[0]
    assert model.input_shapes == [[2, 16]]
    assert [n.text for n in model.notes] == ["input shape [2, 16] (float32) inferred from first layer Linear"]


def test_assert_clean_lists_findings():
    report = archlint.check(Net(), torch.randn(4, 16), plugins=(archlint_test_plugin,), select=["XT9"],
                            rule_options={"big-linear": {"max_params": 300}})
    with pytest.raises(AssertionError, match=r"Linear stem has 1088 parameters"):
        report.assert_clean(ignore=[e.target for e in report.errors])

"""Init provenance: which in-place op last wrote each parameter while the model was built (any device)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import archlint
from archlint import Finding, Rule, Severity, hookimpl
from archlint.load.construction import building_on
from archlint.load.provenance import init_record


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 4)
        self.emb = nn.Embedding(10, 8, padding_idx=0)
        self.gain = nn.Parameter(torch.ones(8))
        self.shift = nn.Parameter(torch.full((8,), 0.25))
        nn.init.zeros_(self.fc.weight)                 # line recorded for fc.weight
        nn.init.constant_(self.conv.weight, 0.5)
        self.conv.weight.data.mul_(4)                   # constant stays constant: 2.0
        self.conv.bias.data.normal_()


ZEROS_LINE = Head.__init__.__code__.co_firstlineno + 7


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_records_last_init_op_per_parameter(device):
    with building_on(device):
        model = Head()
    records = {name: init_record(p) for name, p in model.named_parameters()}
    assert model.fc.weight.device.type == device
    fc = records["fc.weight"]
    assert (fc.op, fc.constant, fc.value) == ("nn.init.zeros_", True, 0.0)
    assert (fc.file, fc.line) == (__file__, ZEROS_LINE)
    conv = records["conv.weight"]
    assert (conv.constant, conv.value) == (True, 2.0) and conv.op == "nn.init.constant_ then mul_"
    assert (records["conv.bias"].op, records["conv.bias"].constant) == ("normal_", False)
    # nn.Linear's own reset_parameters: kaiming for the weight is overwritten above, uniform for the bias stays
    assert (records["fc.bias"].op, records["fc.bias"].constant) == ("nn.init.uniform_", False)
    assert (records["gain"].op, records["gain"].value) == ("torch.ones", 1.0)
    assert (records["shift"].op, records["shift"].value) == ("torch.full", 0.25)
    # the padding row is zeroed on top of a random normal init: a partial write, not a constant tensor
    emb = records["emb.weight"]
    assert (emb.op, emb.constant, emb.partial_writes) == ("nn.init.normal_", False, ("fill_",))


def test_cpu_values_agree_with_records():
    with building_on("cpu"):
        model = Head()
    for name, param in model.named_parameters():
        record = init_record(param)
        values = param.detach().flatten()
        all_equal = bool((values == values[0]).all())
        if record.constant:
            assert all_equal and values[0].item() == pytest.approx(record.value), name
        elif not record.partial_writes:
            assert not all_equal, name


def test_recording_does_not_change_the_model_or_rng():
    torch.manual_seed(0)
    with building_on("cpu"):
        recorded = Head()
    after_recorded = torch.rand(3)
    torch.manual_seed(0)
    plain = Head()
    after_plain = torch.rand(3)
    for (name, a), (_, b) in zip(recorded.state_dict().items(), plain.state_dict().items()):
        assert torch.equal(a, b), name
    assert torch.equal(after_recorded, after_plain)
    assert nn.init.zeros_.__module__ == "torch.nn.init" and not hasattr(nn.init.zeros_, "__wrapped__")


def test_trunc_normal_on_meta_is_recorded():
    # on meta, trunc_normal_ returns before any tensor op: only the nn.init wrapper sees it
    with building_on("meta"):
        token = nn.Parameter(torch.zeros(1, 1, 16))
        nn.init.trunc_normal_(token, std=0.02)
        untouched = nn.Parameter(torch.zeros(1, 1, 16))
    assert (init_record(token).op, init_record(token).constant) == ("nn.init.trunc_normal_", False)
    assert (init_record(untouched).op, init_record(untouched).constant) == ("torch.zeros", True)


class ConstantWeights(Rule):
    """Test-only value rule that reads provenance through the context, as constant-init does on meta."""

    code = "T902"
    name = "provenance-probe"
    summary = "test rule"
    severity = Severity.WARNING

    def check(self, ctx):
        for node in ctx.graph.nodes("linear"):
            record = ctx.init_provenance(f"{node.module_path}.weight")
            if record is not None and record.constant:
                yield Finding.at(node, self.code, f"{node.module_path}.weight set to {record.value} by {record}")


class ConstantWeightsPlugin:
    @hookimpl
    def archlint_rules(self):
        return [ConstantWeights()]


def test_context_exposes_provenance_on_meta(monkeypatch):
    monkeypatch.setenv("ARCHLINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    with building_on("meta"):
        model = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
        nn.init.zeros_(model[0].weight)
    report = archlint.check(model, torch.randn(2, 8), plugins=(ConstantWeightsPlugin(),), select=["T902"])
    assert report.models[0].device == "meta"
    [finding] = report.models[0].findings
    assert finding.module == "0"
    assert finding.message.startswith("0.weight set to 0.0 by nn.init.zeros_ at " + __file__)
    built_elsewhere = nn.Linear(2, 2)
    assert init_record(built_elsewhere.weight) is None

"""Shapes come from meta tensors when the model runs there, from fake tensors otherwise, and the model is untouched."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensor

from archlint.trace import fake
from archlint.trace.fake import on_meta
from archlint.trace.fit import runs_on
from archlint.trace.shapes import propagate_shapes
from archlint.trace.symbolic import symbolic_trace


@pytest.fixture(autouse=True)
def meta_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about the meta and fake paths: the real run (test_real_shapes.py) stays out of them."""
    monkeypatch.setattr(fake, "real_run_cheaper", lambda model, inputs: False)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x)).relu()
        offsets = torch.arange(x.shape[1]).float()   # a factory call without a device follows the model
        return self.fc(x.mean((2, 3)) + offsets)


class CachesInForward(Net):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.last_input_shape = x.shape
        self.register_buffer("seen", torch.zeros(1))
        return super().forward(x)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_graph_shapes_come_from_meta_tensors_and_the_model_is_unchanged() -> None:
    model = Net().eval()
    before, parameters = _state(model), [id(p) for p in model.parameters()]
    gm = symbolic_trace(model)
    assert propagate_shapes(gm, [torch.randn(2, 3, 16, 16)]) == []
    values = {n.name: n.meta["val"] for n in gm.graph.nodes if n.op != "output"}
    assert values["conv"].shape == (2, 8, 16, 16) and values["conv"].is_meta
    assert values["fc"].shape == (2, 4)
    assert [id(p) for p in model.parameters()] == parameters
    assert all(not p.is_meta for p in model.parameters()) and all(not b.is_meta for b in model.buffers())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_what_a_forward_assigns_on_meta_is_undone() -> None:
    model = CachesInForward().eval()
    with on_meta(model):
        model(torch.empty(1, 3, 8, 8, device="meta"))
        assert model.conv.weight.is_meta and "seen" in model._buffers
    assert "seen" not in model._buffers and not hasattr(model, "last_input_shape")
    assert not model.conv.weight.is_meta


def test_when_the_meta_run_fails_the_shapes_come_from_fake_tensors(monkeypatch) -> None:
    def failing(model: nn.Module):
        raise NotImplementedError("no meta kernel for this op")

    monkeypatch.setattr(fake, "on_meta", failing)
    model = Net().eval()
    gm = symbolic_trace(model)
    propagate_shapes(gm, [torch.randn(2, 3, 16, 16)])
    out = next(n for n in gm.graph.nodes if n.op == "output").args[0].meta["val"]
    assert isinstance(out, FakeTensor) and out.shape == (2, 4)
    assert runs_on(model, [torch.randn(2, 3, 16, 16)]) and not runs_on(model, [torch.randn(2, 1, 16, 16)])


def test_inputs_that_do_not_fit_are_told_apart_on_both_paths() -> None:
    assert runs_on(Net().eval(), [torch.randn(2, 3, 16, 16)])
    assert not runs_on(Net().eval(), [torch.randn(2, 1, 16, 16)])


def test_building_on_meta_skips_random_fills_but_records_them_and_does_not_import_dynamo() -> None:
    """normal_ and arange on meta run Python references whose first call imports torch._dynamo (seconds of a
    fresh process): the meta build skips the fill (nothing to write) and makes ranges on the CPU."""
    import subprocess
    import sys

    code = (
        "import sys, torch; from torch import nn\n"
        "from archlint.load.construction import building_on\n"
        "from archlint.load.provenance import init_record\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.embed = nn.Embedding(10, 8)\n"
        "        self.conv = nn.Conv2d(3, 8, 3)\n"
        "        nn.init.kaiming_normal_(self.conv.weight, mode='fan_out')\n"
        "        self.register_buffer('positions', torch.arange(0, 8, 2).float())\n"
        "with building_on('meta'):\n"
        "    net = Net()\n"
        "print(net.conv.weight.is_meta, net.positions.is_meta, tuple(net.positions.shape),\n"
        "      init_record(net.conv.weight).op, init_record(net.embed.weight).op, 'torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "True", "(4,)", "nn.init.kaiming_normal_", "nn.init.normal_", "False"]

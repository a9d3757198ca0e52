"""Shapes from a real forward (trace/fake.py) when it is cheaper than meta tensors: the same shapes, the model
untouched, stopped past its budget (meta tensors then answer), and no torch._dynamo import in a plain-torch lint."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import traceback
from pathlib import Path

import pytest
import torch
from torch import nn

from archlint.trace import fake
from archlint.trace.result import InputMismatch
from archlint.trace.fake import OverBudget, on_real_copies
from archlint.trace.fit import runs_on
from archlint.trace.shapes import propagate_shapes
from archlint.trace.symbolic import symbolic_trace


class Net(nn.Module):
    """Ops whose meta kernels are Python references: batch norm, layer norm, GELU, cat, mean, division."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.norm = nn.LayerNorm(16)
        self.fc = nn.Linear(16, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn(self.conv(x)).relu()
        pooled = torch.cat([x.mean((2, 3)), x.amax((2, 3)) / 2], dim=1)
        return self.fc(nn.functional.gelu(self.norm(pooled)))


class WritesInForward(Net):
    """A forward that writes its buffer and a weight in place, assigns an attribute and draws random numbers."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("calls", torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        with torch.no_grad():
            self.fc.bias.mul_(2)
        self.last = x.shape
        return super().forward(x + torch.randn_like(x))


class SwallowsErrors(Net):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            return super().forward(x)
        except Exception:       # a forward's own handler must not swallow the budget's stop
            return torch.zeros(x.shape[0], 4)


def _state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def _shapes(real: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple]:
    monkeypatch.setattr(fake, "real_run_cheaper", lambda model, inputs: real)
    gm = symbolic_trace(Net().eval())
    assert propagate_shapes(gm, [torch.randn(2, 3, 16, 16)]) == []
    values = {n.name: n.meta["val"] for n in gm.graph.nodes if n.op != "output"}
    assert all(v.is_meta for v in values.values())    # shapes and dtypes only: no activation is kept
    return {name: (tuple(v.shape), v.dtype) for name, v in values.items()}


def test_a_real_run_gives_the_same_shapes_as_meta_tensors(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _shapes(True, monkeypatch)
    assert real == _shapes(False, monkeypatch)
    assert real["fc"] == ((2, 4), torch.float32) and real["cat"] == ((2, 16), torch.float32)


def test_the_real_run_leaves_weights_buffers_attributes_and_rng_as_they_were() -> None:
    model = WritesInForward().eval()
    before, rng = _state(model), torch.get_rng_state()
    with on_real_copies(model), torch.no_grad():
        model(torch.randn(2, 3, 8, 8))
        assert model.calls.item() == 1      # the forward did write: into the copies
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert not hasattr(model, "last") and torch.equal(torch.get_rng_state(), rng)
    assert not model.fc.bias.is_meta and model.fc.bias is model._modules["fc"]._parameters["bias"]


def test_the_budget_stops_the_run_through_the_forwards_own_except() -> None:
    model = SwallowsErrors().eval()
    with pytest.raises(OverBudget), on_real_copies(model, seconds=0), torch.no_grad():
        model(torch.randn(2, 3, 8, 8))
    with pytest.raises(OverBudget), on_real_copies(model, max_output_bytes=1000), torch.no_grad():
        model(torch.randn(2, 3, 8, 8))      # the conv's output is 2*8*8*8*4 = 4096 bytes
    with on_real_copies(model), torch.no_grad():
        assert model(torch.randn(2, 3, 8, 8)).shape == (2, 4)


def test_past_the_budget_the_shapes_and_the_input_check_come_from_meta(monkeypatch: pytest.MonkeyPatch) -> None:
    stopped: list[str] = []

    def no_time(model: nn.Module):
        stopped.append(type(model).__name__)
        return on_real_copies(model, seconds=0)

    monkeypatch.setattr(fake, "real_run_cheaper", lambda model, inputs: True)
    monkeypatch.setattr(fake, "on_real_copies", no_time)
    gm = symbolic_trace(Net().eval())
    propagate_shapes(gm, [torch.randn(2, 3, 16, 16)])
    assert next(n for n in gm.graph.nodes if n.op == "output").args[0].meta["val"].shape == (2, 4)
    assert runs_on(Net().eval(), [torch.randn(2, 3, 16, 16)])
    assert len(stopped) == 2     # both tried the real run first, and were stopped
    assert torch.is_grad_enabled()   # the stop did not skip a `no_grad` exit on its way out


class SlowInsideEnableGrad(Net):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            with torch.enable_grad():
                busy_until = time.process_time() + 0.05   # the deadline (CPU time) passes here: leaving the
                while time.process_time() < busy_until:   # block calls _set_grad_enabled
                    pass
            return super().forward(x)


def test_the_stop_never_lands_in_a_grad_mode_switch() -> None:
    model = SlowInsideEnableGrad().eval()
    with pytest.raises(OverBudget) as stop, on_real_copies(model, seconds=0.01):
        model(torch.randn(2, 3, 8, 8))
    assert torch.is_grad_enabled()
    # stopped at the conv after the block, not inside enable_grad's exit
    assert any("conv" in str(frame.line) for frame in traceback.extract_tb(stop.tb)), traceback.format_tb(stop.tb)


@pytest.mark.parametrize("real", [True, False])
def test_inputs_that_do_not_fit_are_refused_on_either_path(real: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake, "real_run_cheaper", lambda model, inputs: real)
    assert runs_on(Net().eval(), [torch.randn(2, 3, 16, 16)])
    assert not runs_on(Net().eval(), [torch.randn(2, 1, 16, 16)])


@pytest.mark.parametrize("real", [True, False])
def test_a_layer_that_cannot_take_its_input_is_named_the_same_way_on_either_path(
        real: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fake, "real_run_cheaper", lambda model, inputs: real)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(10, 2)).eval()
    with pytest.raises(InputMismatch) as mismatch:
        propagate_shapes(symbolic_trace(model), [torch.randn(2, 3, 16, 16)])
    assert str(mismatch.value) == "3 (Linear) expected 10 input features, got 1568 (input shape [2, 1568])"


def test_only_small_cpu_models_with_small_inputs_run_for_real(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch._dynamo", raising=False)   # only the dict entry: restored after
    model = Net()
    assert fake.real_run_cheaper(model, [torch.randn(2, 3, 16, 16)])
    assert not fake.real_run_cheaper(model, [torch.randn(2, 3, 600, 600)])
    assert not fake.real_run_cheaper(model, [torch.randn(2, 3, 16, 16, device="meta")])
    assert not fake.real_run_cheaper(model.to("meta"), [torch.randn(2, 3, 16, 16)])
    monkeypatch.setitem(sys.modules, "torch._dynamo", object())
    assert not fake.real_run_cheaper(Net(), [torch.randn(2, 3, 16, 16)])


class PeriodFromSpectrum(nn.Module):
    """Reads a value of its input to decide a shape (the strongest period of a series, through `.numpy()`), which
    neither meta nor fake tensors hold."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(3, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        strongest = int(torch.fft.rfft(x, dim=1).abs().mean(dim=(0, 2))[1:].argmax().numpy()) + 1
        period = x.shape[1] // strongest
        return self.embed(x[:, :period * strongest]).reshape(x.shape[0], strongest, period, 8).mean(2)


@pytest.mark.parametrize("real_cheaper", [True, False])
def test_a_forward_that_reads_its_values_is_decided_by_a_real_run(real_cheaper: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # once torch._dynamo is imported, meta tensors are the cheap check, and they cannot run `.numpy()`: the
    # inputs that fit were refused like the ones that do not
    monkeypatch.setattr(fake, "real_run_cheaper", lambda model, inputs: real_cheaper)
    model = PeriodFromSpectrum().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert runs_on(model, [torch.randn(2, 24, 3)])
    assert not runs_on(model, [torch.randn(2, 24, 5)])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


MODEL_FILE = '''
import torch
from torch import nn

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.mix = nn.Sequential(nn.Conv2d(32, 32, 7, padding=3), nn.GroupNorm(4, 32), nn.GELU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32 * 32, 10))

    def forward(self, x):
        x = self.stem(x)
        x = self.mix(torch.cat([x, x / 2], dim=1))
        return self.head(x)

model = Net()
'''

LINT = ("import sys{first}\nfrom archlint.cli import main\n"
        "main(['check', sys.argv[1], '--format', 'json', '--output', sys.argv[2], '--exit-zero', '-q'])\n"
        "print('torch._dynamo' in sys.modules)\n")


def test_a_plain_torch_lint_does_not_import_dynamo_and_finds_what_the_meta_path_finds(tmp_path: Path) -> None:
    target = tmp_path / "net.py"
    target.write_text(textwrap.dedent(MODEL_FILE))
    reports = {}
    for label, first in (("real", ""), ("meta", "; import torch._dynamo")):
        out = tmp_path / f"{label}.json"
        done = subprocess.run([sys.executable, "-c", LINT.format(first=first), str(target), str(out)],
                              capture_output=True, text=True, check=True)
        assert done.stdout.split()[-1] == ("False" if label == "real" else "True"), done.stderr
        reports[label] = json.loads(out.read_text())
    assert reports["real"] == reports["meta"]
    # findings whose numbers come from the traced shapes: the 7×7 conv's MACs, the flattened head's parameters
    found = {f["rule"]: f for f in reports["real"]["models"][0]["findings"]}
    assert {"large-kernel", "flatten-fc-head"} <= found.keys(), found.keys()
    assert reports["real"]["models"][0]["input_shapes"] == [[2, 3, 32, 32]]   # the guess found by a real run

"""The shared probe: numbers against an independent forward/backward, and the lint leaves the model untouched."""
from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import math

import pytest
import torch
from torch import nn

import archlint
from archlint import CheckContext, MeasurementUnavailable
from archlint.analysis.probe.passes import readout_loss, run_probe


class SmallNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn(self.conv(x)))
        return torch.tanh(self.fc(self.drop(x.mean(dim=(2, 3)))))


def _inputs() -> tuple[torch.Tensor]:
    return (torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1)),)


def _independent_grads(model: nn.Module, inputs: tuple[torch.Tensor, ...], seed: int = 0) -> dict[str, torch.Tensor]:
    """The documented procedure by hand: copy, train mode, seed, forward, Σ out ⊙ R backward."""
    import copy

    twin = copy.deepcopy(model).train()
    torch.manual_seed(seed)
    out = twin(*inputs)
    weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
    (out * weights).sum().backward()
    return {n: p.grad.clone() for n, p in twin.named_parameters()}


def test_grad_norms_in_depth_order_match_an_independent_backward() -> None:
    torch.manual_seed(0)
    model = SmallNet().eval()
    result = run_probe(model, _inputs())
    expected = _independent_grads(model, _inputs())
    assert [layer.layer for layer in result.layers] == ["conv", "fc"]
    for layer in result.layers:
        assert layer.grad_norm == pytest.approx(float(expected[layer.weight].double().norm()), rel=1e-5)
    assert torch.allclose(result.grads["bn.weight"], expected["bn.weight"], atol=1e-6)
    assert "seed 0" in result.method and "first 4 sample(s)" in result.method


def test_activation_stats_match_a_hook() -> None:
    torch.manual_seed(0)
    model = SmallNet()
    result = run_probe(model, _inputs())
    twin = __import__("copy").deepcopy(model).train()
    seen: dict[str, torch.Tensor] = {}
    twin.relu.register_forward_hook(lambda m, i, o: seen.__setitem__("relu", o.detach().clone()))
    torch.manual_seed(0)
    twin(*_inputs())
    relu = result.activation("relu")
    expected = (seen["relu"] == 0).float().mean(dim=(0, 2, 3))
    assert relu is not None and relu.units == 8 and relu.observations == 4 * 8 * 8
    assert torch.allclose(relu.zero_fraction, expected)
    tanh = next(a for a in result.activations if a.family == "tanh")
    assert tanh.module_path == "" and tanh.function == "tanh" and not tanh.is_module


def test_batchnorm_variance_with_and_without_dropout() -> None:
    class DropThenBN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.drop = nn.Dropout(0.5)
            self.bn = nn.BatchNorm1d(16)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.bn(self.drop(x))

    x = torch.rand(32, 16, generator=torch.Generator().manual_seed(0))
    result = run_probe(DropThenBN(), (x,))
    record = result.batchnorm_inputs[0]
    assert torch.allclose(record.variance_without_dropout, x.var(dim=0, unbiased=False), atol=1e-6)
    torch.manual_seed(0)
    dropped = torch.nn.functional.dropout(x, 0.5, training=True)
    assert torch.allclose(record.variance_with_dropout, dropped.var(dim=0, unbiased=False), atol=1e-6)


def test_the_pass_without_dropout_runs_only_when_read_and_gives_the_same_numbers() -> None:
    class Counted(nn.Module):
        forwards = 0    # on the class: the probe runs a copy

        def __init__(self) -> None:
            super().__init__()
            self.drop, self.bn, self.fc = nn.Dropout(0.5), nn.BatchNorm1d(16), nn.Linear(16, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            type(self).forwards += 1
            return self.fc(self.bn(self.drop(x)))

    x = torch.rand(32, 16, generator=torch.Generator().manual_seed(0))
    model = Counted()
    result = run_probe(model, (x,))
    assert Counted.forwards == 1                 # the train pass only
    rng = torch.get_rng_state()
    outputs = result.outputs_without_dropout
    assert Counted.forwards == 2 and torch.equal(torch.get_rng_state(), rng)
    assert result.outputs_without_dropout is outputs and Counted.forwards == 2      # once
    expected = model.fc(torch.nn.functional.batch_norm(x, None, None, model.bn.weight, model.bn.bias, training=True))
    assert torch.allclose(outputs[0], expected, atol=1e-5)
    assert torch.allclose(result.batchnorm_inputs[0].variance_without_dropout, x.var(dim=0, unbiased=False), atol=1e-6)


def test_layer_norms_are_taken_when_read_and_reached_agrees_with_them() -> None:
    torch.manual_seed(0)
    model = SmallNet()
    with torch.no_grad():
        model.fc.weight.zero_()     # conv gets no signal through a zero head: norm 0, not reached
    result = run_probe(model, _inputs())
    conv, fc = result.layers
    assert not conv.reached and conv.grad_norm == 0.0
    assert fc.reached and fc.grad_norm == float(result.grads["fc.weight"].double().norm()) > 0


@pytest.mark.parametrize("nonzero", ["none", "first values", "one column", "last value"])
def test_reached_finds_a_nonzero_value_wherever_it_is(nonzero: str) -> None:
    """`reached` reads a sample first (the first values, then values spread over the tensor, not one column:
    VGG's classifier gradients are zero in the rows and columns of units dropout or ReLU zeroed) and the whole
    gradient only when the sample is all zero; the answer is the same as `bool(grad.any())` in every case."""
    from archlint.analysis.probe.results import LayerGradient

    grad = torch.zeros(4096, 512)
    if nonzero == "first values":
        grad[0, 7] = 1.0
    elif nonzero == "one column":
        grad[:, 3] = 1.0    # a step of whole rows would read column 0 only
    elif nonzero == "last value":
        grad[-1, -1] = -1e-30
    layer = LayerGradient("fc", "linear", "fc.weight", grad=grad)
    assert layer.reached == bool(grad.any()) == (nonzero != "none")
    assert layer.grad_norm == float(grad.double().norm())


def test_eval_passes_and_structured_outputs() -> None:
    @dataclass
    class Out:
        logits: torch.Tensor
        extra: dict

    class Structured(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(4, 3), nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> Out:
            return Out(nn.functional.dropout(self.a(x), 0.5), {"b": (self.b(x), x.long())})

    result = run_probe(Structured(), (torch.randn(8, 4),))
    assert result.grads["b.weight"] is not None and result.grads["a.weight"] is not None
    assert len(result.train_outputs) == 3
    first, second = result.eval_outputs
    expected = max(float((a - b).abs().max()) for a, b in zip(first, second))
    assert result.eval_difference() == expected > 0


def test_readout_loss_gives_every_output_unit_gradient() -> None:
    out = torch.zeros(2, 5, requires_grad=True)
    readout_loss([out], 0).backward()
    assert (out.grad != 0).all()


def test_batch_is_bounded_by_the_example_batch() -> None:
    result = run_probe(SmallNet(), _inputs(), batch=2)
    assert result.batch == 2 and result.input_shapes == [(2, 3, 8, 8)]
    assert run_probe(SmallNet(), _inputs(), batch=100).batch == 4
    assert run_probe(SmallNet(), (torch.randn(2, 3, 32, 32),), max_side=8).input_shapes == [(2, 3, 8, 8)]


def test_unavailable_on_meta_and_when_disabled() -> None:
    with torch.device("meta"):
        meta = SmallNet()
    with pytest.raises(MeasurementUnavailable):
        run_probe(meta, (torch.randn(2, 3, 8, 8, device="meta"),))
    from archlint.analysis.graph import ArchGraph
    from archlint.analysis.shared import ModelAnalyses

    model, graph = SmallNet(), ArchGraph([], [])
    ctx = CheckContext("m", model, graph, _inputs(), ModelAnalyses(model, graph, _inputs(), probe_enabled=False),
                       probe_enabled=False)
    with pytest.raises(MeasurementUnavailable, match="no-probe"):
        ctx.probe()


def test_forward_failure_is_a_measurement_unavailable() -> None:
    net = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    with pytest.raises(MeasurementUnavailable, match="train-mode forward"):
        run_probe(net, (torch.randn(1, 4),))  # BatchNorm1d cannot train on one sample


def _rng() -> tuple:
    state = np.random.get_state()
    return torch.get_rng_state().clone(), (state[0], state[1].copy(), *state[2:]), random.getstate()


def test_lint_leaves_weights_flags_and_rng_unchanged() -> None:
    torch.manual_seed(0)
    model = SmallNet()
    model.train()
    model.fc.eval()
    model.conv.bias.requires_grad_(False)
    before_state = {k: v.clone() for k, v in model.state_dict().items()}
    before_training = {n: m.training for n, m in model.named_modules()}
    before_grad = {n: p.requires_grad for n, p in model.named_parameters()}
    before_rng = _rng()
    report = archlint.check(model, _inputs(), select=["AL101", "AL401", "dropout-placement", "gradient-flow"])
    assert not [f for f in report.models[0].findings if f.code == "AL000"]
    after_state = model.state_dict()
    assert all(torch.equal(before_state[k], after_state[k]) and before_state[k].dtype == after_state[k].dtype
               for k in before_state)
    assert {n: m.training for n, m in model.named_modules()} == before_training
    assert {n: p.requires_grad for n, p in model.named_parameters()} == before_grad
    assert all(p.grad is None for p in model.parameters())
    after_rng = _rng()
    assert torch.equal(before_rng[0], after_rng[0])
    assert np.array_equal(before_rng[1][1], after_rng[1][1]) and before_rng[2] == after_rng[2]


def test_run_probe_alone_restores_rng() -> None:
    model, inputs = SmallNet(), _inputs()
    before = torch.get_rng_state().clone()
    py = random.getstate()
    run_probe(model, inputs)
    assert torch.equal(before, torch.get_rng_state()) and random.getstate() == py


def test_probe_that_would_not_fit_the_memory_budget_is_skipped_with_its_estimate(monkeypatch) -> None:
    """Cost before work: the estimate comes from the traced shapes, before anything is allocated."""
    from archlint.analysis.graph import build_graph
    from archlint.analysis.shared import ModelAnalyses, probe_memory_estimate
    from archlint.trace.tracers import trace_model

    model, inputs = SmallNet(), _inputs()
    graph = build_graph(trace_model(model, inputs).graph_module, model)
    needed = probe_memory_estimate(graph, model, inputs)
    weights = sum(p.numel() * 4 for p in model.parameters())
    activations = sum(math.prod(n.out_shape[1:]) * 4 * 4 for n in graph.nodes()   # batch 4, float32
                      if n.out_shape and n.kind not in ("param", "shape"))
    assert needed == 2 * activations + 2 * weights
    monkeypatch.setenv("ARCHLINT_MEMORY_BUDGET", str(needed - 1))
    with pytest.raises(MeasurementUnavailable, match=r"the probe would need about 0.1 MiB .* budget is 0.1 MiB"):
        ModelAnalyses(model, graph, inputs).probe()
    monkeypatch.setenv("ARCHLINT_MEMORY_BUDGET", str(needed))
    assert ModelAnalyses(model, graph, inputs).probe().grads


def test_a_rule_says_the_probe_was_skipped_for_memory(monkeypatch) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "examples" / "constant_init_bad.py"
    spec = importlib.util.spec_from_file_location("constant_init_bad", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    monkeypatch.setenv("ARCHLINT_MEMORY_BUDGET", "1000")
    report = archlint.check(example.build(), example.example_inputs(), select=["constant-init"])
    assert not report.errors and "constant-init" in report.models[0].rules_run
    # the constant weights are still read from their values; with nothing measured, as on the meta device, the
    # constant layer feeding another constant one is reported (naming it); their gradients were not measured, and why
    assert [f.module for f in report.findings] == ["hidden"] and "and so is the next layer `mix`" in \
        report.findings[0].message
    for finding in report.findings:
        assert finding.effect == ()
        assert any("probe would need about" in u and "MiB" in u and "ARCHLINT_MEMORY_BUDGET" in u
                   for u in finding.unmeasured)


class _KeepsHiddenActivations(nn.Module):
    """A block fx cannot trace (control flow on a value), which keeps 8 × 64 MiB for its backward: the probe's
    estimate from the traced shapes sees only its small output (an attention over thousands of tokens, in
    vit-pytorch's CCT, kept 0.9 GB per matrix and took the machine's memory)."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > float("inf"):      # never true; makes the block opaque to fx
            return x
        kept = [torch.ones(16 << 20) * self.scale for _ in range(8)]
        return x + sum(k[:1].sum() for k in kept)


@pytest.mark.parametrize("budget,stopped", [("256M", True), ("4G", False)])
def test_the_probe_stops_when_memory_grows_past_its_budget(monkeypatch, budget: str, stopped: bool) -> None:
    """Cost during work: a train forward whose memory grows past the budget inside an opaque block is stopped,
    and the report says so once; the other rules still run, and gradients stay on for the process."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 4), _KeepsHiddenActivations())
    before = {k: v.clone() for k, v in model.state_dict().items()}
    monkeypatch.setenv("ARCHLINT_MEMORY_BUDGET", budget)
    report = archlint.check(model, (torch.randn(2, 4),), select=["gradient-flow", "receptive-field"])
    [linted] = report.models
    assert not report.errors and {"gradient-flow", "receptive-field"} <= set(linted.rules_run)
    assert "1 (_KeepsHiddenActivations) is one opaque layer" in " ".join(n.text for n in linted.notes)
    notes = [n for n in (note.text for note in linted.notes) if "the probe's train-mode forward pass was stopped" in n]
    if stopped:
        [note] = notes
        assert "the process's memory grew by" in note and "past the budget of 256.0 MiB (ARCHLINT_MEMORY_BUDGET)" \
            in note and "pass a smaller --input-shape" in note
    else:
        assert notes == [] and not any("not measured" in n for n in (note.text for note in linted.notes))
    assert torch.is_grad_enabled() and model.training
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())

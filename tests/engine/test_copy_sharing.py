"""Copies for measurements share large weights without letting anything reach the user's parameters."""
from __future__ import annotations

import torch
from torch import fx, nn

from archlint.analysis.probe.gradients import graph_gradients
from archlint.analysis.probe.passes import probe_inputs, readout_loss, run_probe
from archlint.analysis.rewrite import SHARE_WEIGHTS_ABOVE_BYTES, copy_sharing_large_weights


def _large_model() -> nn.Module:
    torch.manual_seed(0)
    # 2 x 2900 x 2900 fp32 weights = 67 MB, just above the 64 MiB sharing limit
    return nn.Sequential(nn.Linear(2900, 2900), nn.BatchNorm1d(2900), nn.ReLU(), nn.Linear(2900, 2900))


def test_large_weights_are_shared_as_new_parameters_and_buffers_are_cloned() -> None:
    model = _large_model()
    assert sum(p.numel() * 4 for p in model.parameters()) > SHARE_WEIGHTS_ABOVE_BYTES
    clone = copy_sharing_large_weights(model, requires_grad=False)
    for original, copied in zip(model.parameters(), clone.parameters()):
        assert copied is not original and copied.data_ptr() == original.data_ptr()
        assert original.requires_grad and not copied.requires_grad
    assert clone[1].running_mean.data_ptr() != model[1].running_mean.data_ptr()


def test_small_weights_are_cloned() -> None:
    model = nn.Linear(8, 8)
    clone = copy_sharing_large_weights(model)
    assert clone.weight.data_ptr() != model.weight.data_ptr()
    assert torch.equal(clone.weight, model.weight)


def test_probe_on_shared_weights_leaves_the_model_untouched() -> None:
    model = _large_model()
    before = {n: t.detach().clone() for n, t in [*model.named_parameters(), *model.named_buffers()]}
    versions = [p._version for p in model.parameters()]
    result = run_probe(model, (torch.randn(4, 2900),))
    assert result.grads["0.weight"] is not None and float(result.grads["0.weight"].abs().sum()) > 0
    assert all(p.grad is None for p in model.parameters())
    assert [p._version for p in model.parameters()] == versions
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        assert torch.equal(tensor, before[name]), name
    assert model.training and all(p.requires_grad for p in model.parameters())


def test_input_only_backward_gives_the_same_delta_as_with_weight_gradients() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                          nn.Flatten(), nn.Linear(8 * 6 * 6, 5))
    gm = fx.symbolic_trace(model)
    inputs = (torch.randn(2, 3, 6, 6),)
    measured = graph_gradients(gm, inputs, ["_1", "_3"])
    # independently: the weights require grad, the input does not; read ∂L/∂output with retain_grad
    chosen, _ = probe_inputs(inputs, 32, None)
    copy = nn.Sequential(*[m for m in model])   # same modules: only .grad is written, cleared below
    outputs = {}
    x = chosen[0]
    for index, layer in enumerate(copy):
        x = layer(x)
        if index in (1, 3):
            x.retain_grad()
            outputs[index] = x
    readout_loss([x], 0).backward()
    for index, name in ((1, "_1"), (3, "_3")):
        expected = float(outputs[index].grad.double().pow(2).mean().sqrt())
        assert abs(measured[name].grad_rms - expected) <= 1e-6 * expected
    for p in model.parameters():
        p.grad = None

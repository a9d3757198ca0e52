"""constant-init: distinct gradient units checked by hand; torchvision models with deliberate constants stay clean."""
from __future__ import annotations

import copy

import pytest
import torch

from archlint_rules.constant_init import constant_value, distinct_units

from rule_support import example as load_example, lint




def _findings(model, inputs, **settings):
    return lint(model, inputs, rule="constant-init", **settings)


def _distinct_rows_by_pairs(grad: torch.Tensor, tol: float = 1e-8) -> int:
    """Independent count: greedy grouping of rows within tol × max|grad| of each other."""
    rows = grad.double().reshape(grad.shape[0], -1)
    scale = float(rows.abs().max())
    representatives: list[torch.Tensor] = []
    for row in rows:
        if not any(float((row - r).abs().max()) <= tol * scale for r in representatives):
            representatives.append(row)
    return len(representatives)


def test_bad_example_reports_the_measured_distinct_units() -> None:
    example = load_example("constant_init_bad")
    model, inputs = example.build(), example.example_inputs()
    findings = {f.module: f for f in _findings(model, inputs)}
    assert set(findings) == {"hidden", "mix"}
    twin = copy.deepcopy(model).train()
    torch.manual_seed(0)
    out = twin(*inputs)
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
    expected = _distinct_rows_by_pairs(twin.hidden.weight.grad)
    assert 1 <= expected < 64
    metric = findings["hidden"].effect[0]
    assert metric.before == f"{expected}/64"
    assert metric.after is not None and int(metric.after.split("/")[0]) > expected
    assert findings["hidden"].fix is not None and "kaiming_normal_" in findings["hidden"].fix.snippet
    assert "hidden.weight" in findings["mix"].message


def test_fixed_example_is_clean() -> None:
    example = load_example("constant_init_fixed")
    assert _findings(example.build(), example.example_inputs()) == []


def test_all_zero_network_has_a_dead_signal() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU(),
                              torch.nn.Linear(8, 3))
    for layer in (net[0], net[2]):
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    findings = {f.module: f for f in _findings(net, (torch.randn(16, 6),))}
    assert "0" in findings and "zero" in findings["0"].message
    assert findings["0"].effect[1].before == 0.0


def test_helpers() -> None:
    assert constant_value(torch.full((3, 4), 2.5)) == 2.5 and constant_value(torch.randn(3, 4)) is None
    assert constant_value(torch.zeros(1)) is None
    grad = torch.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0]])
    assert distinct_units(grad, 0, 1e-8) == 2 and distinct_units(grad, 1, 1e-8) == 2


def test_lone_constant_layer_before_a_random_one_is_clean() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    torch.nn.init.constant_(net[2].weight, 0.0)  # a zero head: each class row still gets its own gradient
    assert _findings(net, (torch.randn(16, 6),)) == []


@pytest.mark.parametrize("name,kwargs,size", [
    ("resnet50", {"zero_init_residual": True}, 64),
    ("convnext_tiny", {}, 64),
    ("vit_b_16", {}, 224),
])
def test_torchvision_deliberate_constants_stay_clean(zoo, name: str, kwargs: dict, size: int) -> None:
    model = zoo(name, **kwargs)
    if name == "vit_b_16":
        assert constant_value(model.heads.head.weight) == 0.0  # the case the rule must accept
    inputs = (torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0)),)
    assert _findings(model, inputs) == []


class FunctionalLinear(torch.nn.Module):
    """Layers written as F.linear(x, self.weight, self.bias) with zero biases and a ones layer scale, as
    Hugging Face encoders trace: the bias and the scale are vectors, read by the same call as the weight."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(16, 8) * 0.3)
        self.bias = torch.nn.Parameter(torch.zeros(16))
        self.gamma = torch.nn.Parameter(torch.ones(16))
        self.out_weight = torch.nn.Parameter(torch.randn(3, 16) * 0.3)
        self.out_bias = torch.nn.Parameter(torch.zeros(3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(torch.nn.functional.linear(x, self.weight, self.bias)) * self.gamma
        return torch.nn.functional.linear(h, self.out_weight, self.out_bias)


def test_vector_parameters_are_not_judged_and_do_not_crash() -> None:
    """Zero biases and ones scales of functional layers are never constant-init sites (on a small BERT they
    were, and re-initialising one raised a fan-in error, AL000; this net pins the rule's side of it)."""
    torch.manual_seed(0)
    assert _findings(FunctionalLinear(), (torch.randn(4, 8),)) == []


def test_without_the_probe_only_a_constant_layer_feeding_another_is_reported() -> None:
    """torchvision's ViT-H/14 is too big for the probe's budget: its zero-initialised head (a lone constant layer)
    must stay clean, as it is when measured; two constant layers in a row are still predicted symmetric."""
    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    torch.nn.init.zeros_(head[2].weight)
    x = torch.randn(4, 8)
    assert lint(head, x, rule="constant-init", probe=False) == []
    torch.nn.init.ones_(head[0].weight)
    [finding] = lint(head, x, rule="constant-init", probe=False)
    assert finding.module == "0" and "and so is the next layer `2`" in finding.message
    assert finding.effect == () and any("predicted from the structure" in u for u in finding.unmeasured)

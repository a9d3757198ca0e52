"""gradient-flow: AL801-AL804 numbers against an independent backward; clean models stay clean."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import archlint

from rule_support import example as load_example, lint




def _grad_tap(store: dict, key: str):
    """A forward hook that keeps ∂L/∂(module output) in store[key] (and leaves the output unchanged)."""
    def hook(module, inputs, output) -> None:
        output.register_hook(lambda grad: store.__setitem__(key, grad))
    return hook


def _findings(model, inputs, **settings):
    return lint(model, inputs, rule="gradient-flow", **settings)


@pytest.fixture(scope="module")
def bad():
    example = load_example("gradient_flow_bad")
    model, inputs = example.build(), example.example_inputs()
    twin = copy.deepcopy(model).train()
    acts: dict[str, torch.Tensor] = {}
    twin.act.register_forward_pre_hook(lambda m, i: acts.__setitem__("tanh_in", i[0].detach().clone()))
    twin.relu.register_forward_hook(lambda m, i, o: acts.__setitem__("relu_out", o.detach().clone()))
    # the backward signal after the first layer's activation (body.0 Linear -> body.1 Sigmoid)
    twin.body[1].register_forward_hook(_grad_tap(acts, "first_grad"))
    torch.manual_seed(0)
    out = twin(*inputs)
    out.register_hook(lambda g: acts.__setitem__("last_grad", g))
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
    return {f.code: f for f in _findings(model, inputs)}, twin, acts


def test_all_four_cases(bad) -> None:
    findings, _, _ = bad
    assert set(findings) == {"AL801", "AL802", "AL803", "AL804"}
    assert findings["AL801"].severity == archlint.Severity.ERROR and findings["AL801"].module == "unused"


def test_no_gradient_count(bad) -> None:
    findings, twin, _ = bad
    assert findings["AL801"].effect[0].before == sum(p.numel() for p in twin.unused.parameters())
    assert twin.unused.weight.grad is None


def _rms(t: torch.Tensor) -> float:
    return float(t.double().pow(2).mean().sqrt())


def test_vanishing_ratio(bad) -> None:
    findings, twin, _ = bad
    # like with like: the 64×64 layers (body[2] ... gate), not the 32→64 input layer against the 64→10 head
    expected = float(twin.body[2].weight.grad.norm() / twin.gate.weight.grad.norm())
    assert findings["AL802"].effect[0].before == pytest.approx(expected, rel=1e-4)
    assert expected < 1e-3 and "`body.2`" in findings["AL802"].message and "`gate`" in findings["AL802"].message
    assert "11 linear layers with weight shape 64×64" in findings["AL802"].message


def _compared(finding) -> tuple[str, str]:
    """The two weights a ratio finding compared, from its method text."""
    import re

    first, last = re.findall(r"‖∇W‖ of `([^`]+)`", finding.effect[0].method)
    return first, last


def test_dead_units_and_saturation(bad) -> None:
    findings, _, acts = bad
    dead = int((acts["relu_out"] == 0).all(dim=0).sum())
    assert findings["AL803"].effect[0].before == dead and dead > 16
    share = float((acts["tanh_in"].abs() > 5).float().mean())
    assert findings["AL804"].effect[0].before == pytest.approx(share, abs=1e-4)


def test_fixes_run_on_a_copy_and_their_after_numbers_match_an_independent_measurement(bad) -> None:
    """AL801 deletes the unused module, AL803/AL804 re-initialise the layer before the activation: each fix is a
    change the engine verified, and its after-number equals the same count made here on the fixed model."""
    from archlint.analysis.fixes import apply_change

    findings, _, _ = bad
    example = load_example("gradient_flow_bad")
    for code in ("AL801", "AL803", "AL804"):
        assert findings[code].fix.verified and findings[code].fix.change is not None, code
    assert findings["AL801"].fix.change.snippet().startswith("del model.unused")
    assert findings["AL801"].effect[0].after == 0

    for code in ("AL803", "AL804"):
        fixed = example.build()
        torch.manual_seed(0)   # the engine's copy draws the new weights under seed 0, as here
        apply_change(fixed, findings[code].fix.change)
        seen: dict[str, torch.Tensor] = {}
        fixed.act.register_forward_pre_hook(lambda m, i: seen.__setitem__("tanh_in", i[0].detach().clone()))
        fixed.relu.register_forward_hook(lambda m, i, o: seen.__setitem__("relu_out", o.detach().clone()))
        torch.manual_seed(0)
        fixed.train()(*example.example_inputs())
        if code == "AL803":
            assert findings[code].effect[0].after == int((seen["relu_out"] == 0).all(dim=0).sum())
            assert findings[code].effect[0].after < findings[code].effect[0].before
        else:
            share = float((seen["tanh_in"].abs() > 5).float().mean())
            assert findings[code].effect[0].after == pytest.approx(share, abs=1e-4)
    # AL802 has no mechanical fix, and says why instead of printing an after-number
    assert findings["AL802"].fix.change is None and findings["AL802"].effect[0].after is None
    assert any(u.startswith("no automatic fix") for u in findings["AL802"].unmeasured)


def test_thresholds_are_options() -> None:
    example = load_example("gradient_flow_bad")
    findings = _findings(example.build(), example.example_inputs(),
                         rule_options={"gradient-flow": {"vanishing_ratio": 1e-9, "dead_share": 0.99, "saturated_share": 0.9}})
    assert {f.code for f in findings} == {"AL801"}


def _zoo_inputs(side: int) -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, side, side, generator=torch.Generator().manual_seed(0)),)


@pytest.mark.parametrize("name", ["resnet50", "densenet121", "mobilenet_v2", "efficientnet_b0", "vgg16"])
def test_fixed_example_and_zoo_are_clean(zoo, name: str) -> None:
    fixed = load_example("gradient_flow_fixed")
    assert _findings(fixed.build(), fixed.example_inputs()) == []
    assert _findings(zoo(name), _zoo_inputs(64)) == []


def _weight_gradients(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...]) -> torch.nn.Module:
    """A train-mode copy after one backward of the probe's loss (Σ output ⊙ R, R ~ N(0,1) with seed 0)."""
    twin = copy.deepcopy(model).train()
    torch.manual_seed(0)
    out = twin(*inputs)
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
    return twin


def test_batchnorm_models_are_judged_for_vanishing_not_exploding(zoo) -> None:
    """resnet50 is measured: a loose vanishing bound flags it with the independently computed ratio,
    while the exploding side is not judged under normalisation (its raw ratio is ~71)."""
    model = zoo("resnet50")
    twin = _weight_gradients(model, _zoo_inputs(64))
    [finding] = _findings(model, _zoo_inputs(64), rule_options={"gradient-flow": {"vanishing_ratio": 1e3}})
    assert finding.code == "AL802" and finding.message.startswith("vanishing")
    first, last = _compared(finding)
    weights = dict(twin.named_parameters())
    assert weights[first].shape == weights[last].shape and first != last     # like with like
    expected = float(weights[first].grad.norm() / weights[last].grad.norm())
    assert finding.effect[0].before == pytest.approx(expected, rel=1e-4) and expected < 1e3
    assert _findings(model, _zoo_inputs(64), rule_options={"gradient-flow": {"exploding_ratio": 5}}) == []


def test_exploding_gradients_without_normalisation() -> None:
    # The deeper 32×32 layers initialised 100x too large: going back, each multiplies the signal the first layer
    # gets, while the first layer's own input (the data) is not scaled; like layers, first/last ~ 100.
    # (Scaling every layer alike does not do it: weight gradients are δ ⊗ input and the two scalings cancel.)
    torch.manual_seed(0)
    model = torch.nn.Sequential(*[m for _ in range(4) for m in (torch.nn.Linear(32, 32), torch.nn.ReLU())],
                                torch.nn.Linear(32, 10))
    with torch.no_grad():
        for index in (2, 4, 6):
            model[index].weight.mul_(100.0)
    inputs = (torch.randn(16, 32, generator=torch.Generator().manual_seed(0)),)
    twin = _weight_gradients(model, inputs)
    expected = float(twin[0].weight.grad.norm() / twin[6].weight.grad.norm())
    [finding] = [f for f in _findings(model, inputs) if f.code == "AL802"]
    assert finding.message.startswith("exploding")
    assert finding.effect[0].before == pytest.approx(expected, rel=1e-4) and expected > 70


def test_not_judged_when_batchnorm_sees_too_few_values(zoo) -> None:
    # 32x32, batch 2: layer4's BatchNorms normalise 2 values per channel; the ratio would read ~1e7
    assert _findings(zoo("resnet50"), _zoo_inputs(32), rule_options={"gradient-flow": {"exploding_ratio": 5}}) == []


class Diverged(torch.nn.Module):
    """Weights with a NaN, as a diverged checkpoint has: every probe number would be meaningless."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = torch.nn.Linear(4, 8)
        self.body = torch.nn.Linear(8, 8)
        self.head = torch.nn.Linear(8, 2)
        with torch.no_grad():
            self.body.weight[0, 0] = float("nan")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.body(torch.relu(self.stem(x)))))


def test_non_finite_values_are_one_finding_at_the_first_layer_and_withhold_the_rest() -> None:
    torch.manual_seed(0)
    report = archlint.check(Diverged(), torch.randn(4, 4), select=["gradient-flow", "constant-init", "missing-residual"])
    codes = [f.code for f in report.findings]
    assert codes == ["AL805"], codes
    [finding] = report.findings
    assert finding.module == "body" and finding.message.startswith("`body` is the first layer whose output is NaN")
    # the body's output row 0 is NaN and spreads into the head: the measured share of the output
    with torch.no_grad():
        out = Diverged().train()(torch.randn(4, 4))
    assert finding.effect[0].before == round(float((~torch.isfinite(out)).float().mean()), 6)


class _GatedStages(torch.nn.Module):
    """CSATv2-like parameter layout: per stage two 3×3 convs of that stage's width and a CBAM-style spatial gate
    Conv2d(2, 1, 7), whose shape does not depend on the width and so repeats through every stage."""

    def __init__(self, widths: tuple[int, ...] = (8, 16, 32, 64)) -> None:
        super().__init__()
        self.stages = torch.nn.ModuleList(
            torch.nn.ModuleDict({"a": torch.nn.Conv2d(w, w, 3, padding=1), "b": torch.nn.Conv2d(w, w, 3, padding=1),
                                 "gate": torch.nn.Conv2d(2, 1, 7, padding=3)}) for w in widths)


def test_a_role_of_negligible_weight_is_not_the_yardstick() -> None:
    from archlint.analysis.probe.results import LayerGradient
    from archlint_rules.gradient_flow import _like_with_like

    model = _GatedStages()
    reached = [LayerGradient(f"stages.{i}.{part}", "conv", f"stages.{i}.{part}.weight", 1.0 + i)
               for i in range(4) for part in ("a", "b", "gate")]
    first, last, compared = _like_with_like(model, reached)
    assert "gate" not in first.layer and "gate" not in last.layer, compared
    shapes = {tuple(model.get_parameter(layer.weight).shape) for layer in (first, last)}
    assert len(shapes) == 1 and "like with like" in compared
    # the gates alone (no substantial role left) are still compared rather than nothing
    gates_only = [layer for layer in reached if layer.layer.endswith("gate")]
    first, last, _ = _like_with_like(model, gates_only)
    assert (first.layer, last.layer) == ("stages.0.gate", "stages.3.gate")


class _MaskedTokens(nn.Module):
    """A mask token read only when the optional `mask` argument is given (masked image modelling)."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(16, 32)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, 32))
        self.out = nn.Linear(32, 4)

    def forward(self, x, mask=None):
        x = self.embed(x)
        if mask is not None:
            x = torch.where(mask[..., None], self.mask_token.expand_as(x), x)
        return self.out(x)


def test_a_parameter_unused_in_this_forward_is_info_naming_the_argument_not_cut_from_the_loss() -> None:
    [finding] = lint(_MaskedTokens(), torch.randn(4, 10, 16), rule="gradient-flow")
    assert finding.code == "AL801" and finding.severity == archlint.Severity.INFO
    assert "`mask_token` (32 values) received no gradient: no operation of this forward reads it: it is used only " \
           "when the optional argument `mask` is given" in finding.message
    assert "cut from the loss" not in finding.message


def test_a_parameter_read_but_cut_from_the_loss_is_still_an_error() -> None:
    class CutToken(_MaskedTokens):
        def forward(self, x, mask=None):
            return self.out(self.embed(x) + self.mask_token.detach())

    [finding] = lint(CutToken(), torch.randn(4, 10, 16), rule="gradient-flow")
    assert finding.severity == archlint.Severity.ERROR
    assert "`mask_token` (32 values) received no gradient: its output is cut from the loss" in finding.message


class _Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList(nn.ModuleDict({"q": nn.Linear(8, 8), "o": nn.Linear(8, 8)}) for _ in range(3))


def test_one_shape_with_several_places_compares_a_place_with_itself() -> None:
    """A block's query and output projections share a shape: the first query is compared with the last query, not
    with the last output projection (queries get little gradient at initialisation, by design)."""
    from archlint.analysis.probe.results import LayerGradient
    from archlint_rules.gradient_flow import _like_with_like

    reached = [LayerGradient(f"blocks.{i}.{part}", "linear", f"blocks.{i}.{part}.weight", 1e-3 if part == "q" else 10.0)
               for i in range(3) for part in ("q", "o")]
    first, last, _ = _like_with_like(_Attention(), reached)
    assert first.layer.rsplit(".", 1)[1] == last.layer.rsplit(".", 1)[1]
    assert (first.layer, last.layer) in {("blocks.0.q", "blocks.2.q"), ("blocks.0.o", "blocks.2.o")}

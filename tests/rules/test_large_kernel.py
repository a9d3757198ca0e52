"""large-kernel (AL501).

The suggested stack is taken from the finding's own snippet, executed on a copy of the model: its
parameters are p.numel() sums, its MACs come from torch's FlopCounterMode on the real input map, its
output shape from a forward pass, and its receptive field from the input gradient of an all-ones copy.
"""
from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archlint
from archlint.plugin.findings import Finding, Metric, Severity
from archlint_rules.large_kernel import LargeKernel, small_taps

from rule_support import lint as lint_rule, run_on_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import large_kernel_bad  # noqa: E402
import large_kernel_fixed  # noqa: E402



def zoo_input(name: str, traced: Callable) -> torch.Tensor:
    """An input of the shape the session fixture traced `name` with (the rules only read shapes)."""
    return torch.randn(traced(name)[1].inputs()[0].out_shape, generator=torch.Generator().manual_seed(0))


def numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def measured_macs(module: nn.Module, x: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops() // 2


def metric(finding: Finding, name: str) -> Metric:
    return next(m for m in finding.effect if m.name == name)


def lint(model: nn.Module, x: torch.Tensor, show_all: bool = False, **options: Any) -> list[Finding]:
    return lint_rule(model, x, rule="large-kernel", options=options, probe=False, show_all=show_all)


def warnings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.WARNING]


def lint_traced(traced: Callable, zoo: Callable, name: str, show_all: bool = False) -> list[Finding]:
    _, graph = traced(name)
    return run_on_graph(LargeKernel, zoo(name), graph, (zoo_input(name, traced),), name=name, show_all=show_all)


def apply_fix(model: nn.Module, finding: Finding) -> nn.Module:
    """A copy of `model` with the finding's snippet executed on it (the snippet assigns `model.<path> = ...`)."""
    fixed = copy.deepcopy(model)
    exec(finding.fix.snippet, {"nn": nn, "model": fixed})
    return fixed


def module_at(model: nn.Module, path: str) -> nn.Module:
    return model.get_submodule(path)


def gradient_extent(module: nn.Module, x: torch.Tensor) -> tuple[int, ...]:
    """Input extent per axis with nonzero gradient for the centre output position, all-ones weights."""
    module = copy.deepcopy(module).double()
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(1.0)
    x = torch.ones_like(x, dtype=torch.float64, requires_grad=True)
    out = module(x)
    out[(0, slice(None), *[s // 2 for s in out.shape[2:]])].sum().backward()
    grad = x.grad[0].abs().sum(0)
    extents = []
    for axis in range(grad.dim()):
        others = [a for a in range(grad.dim()) if a != axis]
        nz = torch.nonzero(grad.amax(dim=others) > 0 if others else grad > 0).flatten()
        extents.append(int(nz.max() - nz.min() + 1))
    return tuple(extents)


def check_against_replacement(model: nn.Module, finding: Finding, x_in: torch.Tensor) -> nn.Module:
    """Assert the finding's params/MACs/RF/output against the original layer and the executed snippet."""
    original = module_at(model, finding.module)
    replacement = module_at(apply_fix(model, finding), finding.module)
    assert isinstance(replacement, nn.Sequential)
    assert metric(finding, "params").before == numel(original)
    assert metric(finding, "params").after == numel(replacement)
    assert metric(finding, "MACs").before == measured_macs(original, x_in)
    assert metric(finding, "MACs").after == measured_macs(replacement, x_in)
    assert replacement(x_in).shape == original(x_in).shape
    rf = metric(finding, "receptive field")
    assert rf.before == rf.after == "×".join(map(str, gradient_extent(original, x_in)))
    assert gradient_extent(replacement, x_in) == gradient_extent(original, x_in)
    convs = [m for m in replacement if isinstance(m, nn.modules.conv._ConvNd)]
    assert metric(finding, "non-linearities").after == len(replacement) - len(convs) == len(convs) - 1
    return replacement


def input_of(model: nn.Module, path: str, x: torch.Tensor) -> torch.Tensor:
    seen: list[torch.Tensor] = []
    handle = module_at(model, path).register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen[0][:1]


# -- examples ----------------------------------------------------------------------------------------

def test_bad_example_flags_the_body_convs_not_the_rgb_stem() -> None:
    model = large_kernel_bad.build().eval()
    x, = large_kernel_bad.example_inputs()
    findings = lint(model, x)
    assert [f.module for f in findings] == ["body.0", "body.3"]
    for finding in findings:
        check_against_replacement(model, finding, input_of(model, finding.module, x))
    params = numel(model)
    first = findings[0]
    after = params - numel(model.body[0]) + metric(first, "params").after
    assert metric(first, "model params").before == params and metric(first, "model params").after == after
    assert metric(first, "model MACs (conv + linear)").before == measured_macs(model, x[:1])
    assert metric(first, "model MACs (conv + linear)").after == measured_macs(apply_fix(model, first), x[:1])


def test_fixed_example_is_clean() -> None:
    x, = large_kernel_fixed.example_inputs()
    assert warnings(lint(large_kernel_fixed.build().eval(), x)) == []


def test_show_all_explains_the_stem_with_its_cost() -> None:
    model = large_kernel_bad.build().eval()
    x, = large_kernel_bad.example_inputs()
    quiet = lint(model, x)
    noisy = lint(model, x, show_all=True)
    assert warnings(noisy) == quiet                       # show_all adds explanations, never warnings
    kept = [f for f in noisy if f.severity == Severity.INFO]
    assert [f.module for f in kept] == ["stem.0"]
    stem_params = metric(kept[0], "params")
    assert stem_params.before == numel(model.stem[0]) == 3 * 32 * 49 + 32
    # priced at the output width on an RGB input: 3→32 then two 32→32 3×3 convs, stride 2 on the last
    stack = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.Conv2d(32, 32, 3, padding=1),
                          nn.Conv2d(32, 32, 3, stride=2, padding=1))
    assert stem_params.after == numel(stack)
    assert metric(kept[0], "MACs").after == measured_macs(stack, x[:1])
    assert kept[0].fix is None and "not flagged" in kept[0].message


# -- geometry: 1-D, 3-D, even, non-square, dilated, grouped, strided -------------------------------------

def test_small_taps_add_up_to_the_kernel() -> None:
    for k in range(1, 16):
        taps = small_taps(k)
        assert sum(t - 1 for t in taps) == k - 1 and all(t in (2, 3) for t in taps)
        assert taps.count(2) == (1 if k % 2 == 0 else 0)


class One(nn.Module):
    def __init__(self, conv: nn.Module):
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x))


CASES = [
    ("1-D 5-tap", nn.Conv1d(32, 64, 5, padding=2), (1, 32, 40), 2),
    ("3-D 5×5×5", nn.Conv3d(16, 32, 5, padding=1), (1, 16, 10, 10, 10), 2),
    ("even 4×4", nn.Conv2d(64, 64, 4, padding=2), (1, 64, 15, 15), 2),
    ("7×1", nn.Conv2d(32, 32, (7, 1), padding=(3, 0)), (1, 32, 20, 9), 3),
    ("dilated 5×5", nn.Conv2d(32, 32, 5, padding=4, dilation=2), (1, 32, 24, 24), 2),
    ("grouped 7×7", nn.Conv2d(64, 128, 7, padding=3, groups=4, bias=False), (1, 64, 16, 16), 3),
    ("strided 5×5", nn.Conv2d(48, 48, 5, stride=2, padding=1), (1, 48, 21, 21), 2),
]


@pytest.mark.parametrize("label, conv, shape, layers", CASES, ids=[c[0] for c in CASES])
def test_stack_keeps_rf_stride_groups_and_output_size(label: str, conv: nn.Module, shape: tuple[int, ...],
                                                      layers: int) -> None:
    model = One(conv).eval()
    x = torch.randn(*shape)
    # low thresholds: this test is about the computed alternative, not about when to flag it
    findings = lint(model, x, min_saving=-10.0, min_model_share=-10.0, min_total_share=-10.0)
    assert len(findings) == 1
    replacement = check_against_replacement(model, findings[0], x)
    convs = [m for m in replacement if isinstance(m, nn.modules.conv._ConvNd)]
    assert len(convs) == layers
    assert all(max(c.kernel_size) <= 3 and c.groups == conv.groups for c in convs)
    assert all(c.dilation == conv.dilation for c in convs)
    assert [c.stride for c in convs] == [(1,) * len(conv.stride)] * (layers - 1) + [conv.stride]


def test_a_factorised_7x1_costs_more_as_a_stack_and_is_not_flagged() -> None:
    model = One(nn.Conv2d(32, 32, (7, 1), padding=(3, 0))).eval()   # 7 taps vs 3 + 3 + 3
    assert lint(model, torch.randn(1, 32, 20, 9)) == []


def test_thresholds_decide_and_show_all_says_why() -> None:
    model = One(nn.Conv2d(64, 64, 4, padding=2)).eval()   # 4×4 → 3×3 + 2×2: saves 19% of params
    x = torch.randn(1, 64, 15, 15)
    assert lint(model, x) == []
    assert len(warnings(lint(model, x, min_saving=0.1))) == 1
    kept = lint(model, x, show_all=True)
    assert len(kept) == 1 and kept[0].severity == Severity.INFO and "25%" in kept[0].message
    assert metric(kept[0], "params").before == numel(model.conv)
    assert metric(kept[0], "params").after == numel(nn.Conv2d(64, 64, 3)) + numel(nn.Conv2d(64, 64, 2))


def test_mid_channels_option() -> None:
    model = One(nn.Conv2d(32, 96, 5, padding=2)).eval()
    x = torch.randn(1, 32, 12, 12)
    default = lint(model, x)[0]
    wide = lint(model, x, mid_channels="out", min_saving=-10.0, min_model_share=-10.0, min_total_share=-10.0)[0]
    assert metric(default, "params").after == numel(nn.Conv2d(32, 32, 3)) + numel(nn.Conv2d(32, 96, 3))
    assert metric(wide, "params").after == numel(nn.Conv2d(32, 96, 3)) + numel(nn.Conv2d(96, 96, 3))


# -- torchvision ----------------------------------------------------------------------------------------

def test_alexnet_5x5_is_flagged_and_nothing_else(zoo: Callable, traced: Callable) -> None:
    model = zoo("alexnet")
    findings = lint_traced(traced, zoo, "alexnet")
    assert [f.module for f in findings] == ["features.3"]
    assert (model.features[3].kernel_size, model.features[3].in_channels, model.features[3].out_channels) == \
        ((5, 5), 64, 192)
    x = zoo_input("alexnet", traced)
    finding = findings[0]
    check_against_replacement(model, finding, input_of(model, "features.3", x))
    assert metric(finding, "params").after == numel(nn.Conv2d(64, 64, 3)) + numel(nn.Conv2d(64, 192, 3))
    assert metric(finding, "model MACs (conv + linear)").before == measured_macs(model, x)
    assert metric(finding, "model MACs (conv + linear)").after == measured_macs(apply_fix(model, finding), x)


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0",
                                  "convnext_tiny", "vit_b_16", "densenet121", "regnet_y_400mf"])
def test_modern_torchvision_models_are_not_flagged(zoo: Callable, traced: Callable, name: str) -> None:
    assert lint_traced(traced, zoo, name) == []


def test_show_all_on_resnet_stem_vit_patchify_and_convnext_depthwise(zoo: Callable, traced: Callable) -> None:
    resnet = lint_traced(traced, zoo, "resnet50", show_all=True)
    assert [f.module for f in resnet] == ["conv1"] and resnet[0].severity == Severity.INFO
    stem = metric(resnet[0], "params")
    three_by_three = nn.Sequential(nn.Conv2d(3, 64, 3, bias=False), nn.Conv2d(64, 64, 3, bias=False),
                                   nn.Conv2d(64, 64, 3, bias=False))
    assert stem.before == numel(zoo("resnet50").conv1) == 9_408
    assert stem.after == numel(three_by_three) > stem.before

    vit = lint_traced(traced, zoo, "vit_b_16", show_all=True)
    assert [f.module for f in vit] == ["conv_proj"] and "patchify" in vit[0].message

    convnext = lint_traced(traced, zoo, "convnext_tiny", show_all=True)
    model = zoo("convnext_tiny")
    depthwise = [f for f in convnext if f.module.endswith("block.0")]
    assert len(depthwise) == sum(1 for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (7, 7))
    first = depthwise[0]
    dw = module_at(model, first.module)
    assert dw.groups == dw.in_channels == 96
    stack = nn.Sequential(*[nn.Conv2d(96, 96, 3, groups=96) for _ in range(3)])
    assert metric(first, "params").before == numel(dw) and metric(first, "params").after == numel(stack)
    assert "a depthwise conv (groups=96)" in first.message


class NarrowConvNeXtBlock(nn.Module):
    """A ConvNeXt block at width 32 (a small Hugging Face config): the 7×7 depthwise conv is a real share of
    this tiny model, and still the design, not a mistake (it was flagged before depthwise convs were exempt)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, width, 4, stride=4)
        self.dwconv = nn.Conv2d(width, width, 7, padding=3, groups=width)
        self.norm = nn.LayerNorm(width)
        self.pw1, self.pw2 = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.norm(self.dwconv(x).permute(0, 2, 3, 1))
        x = x + self.pw2(torch.nn.functional.gelu(self.pw1(y))).permute(0, 3, 1, 2)
        return self.head(x.mean((2, 3)))


def test_a_narrow_depthwise_large_kernel_is_the_design_not_a_finding() -> None:
    x = torch.randn(2, 3, 64, 64)
    assert lint_rule(NarrowConvNeXtBlock().eval(), x, rule="large-kernel") == []
    kept = lint_rule(NarrowConvNeXtBlock().eval(), x, rule="large-kernel", show_all=True)
    assert [(f.module, f.severity) for f in kept] == [("stem", Severity.INFO), ("dwconv", Severity.INFO)]
    assert "patchify" in kept[0].message and "a depthwise conv (groups=32)" in kept[1].message
    dense = nn.Sequential(nn.Conv2d(3, 32, 4, stride=4), nn.Conv2d(32, 32, 7, padding=3)).eval()
    assert [f.module for f in lint_rule(dense, x, rule="large-kernel")] == ["1"]   # the same kernel, dense: flagged


def test_a_bad_mid_channels_value_is_named_not_a_traceback() -> None:
    from archlint_rules.large_kernel import MID_CHANNELS

    assert MID_CHANNELS.coerce(" OUT ") == "out" and MID_CHANNELS.coerce(48) == "48"
    with pytest.raises(ValueError, match="mid_channels"):
        MID_CHANNELS.coerce("wide")
    model = One(nn.Conv2d(32, 64, 5, padding=2)).eval()
    # validated before anything runs, as in a config file: the setting, the option and the accepted values
    with pytest.raises(ValueError, match=r"rules.large-kernel.mid_channels: .*'min', 'in', 'out'"):
        archlint.check(model, torch.randn(1, 32, 8, 8), select=["AL501"], probe=False,
                       rule_options={"large-kernel": {"mid_channels": "wide"}})


class FiveByFiveStem(nn.Module):
    """iFormer-like: a 5×5 stride-2 conv on 16 channels in the stem, then a body of `width` 3×3 convs that
    holds almost all of the model's params and MACs (or, with `stem_convs`, several such 5×5 convs)."""

    def __init__(self, width: int = 128, stem_convs: int = 1, stem_width: int = 64) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.GELU(),
                                  *[layer for i in range(stem_convs)
                                    for layer in (nn.Conv2d(16, 16 if i < stem_convs - 1 else stem_width, 5,
                                                            padding=2), nn.GELU())])
        self.body = nn.Sequential(nn.Conv2d(stem_width, width, 3, padding=1), nn.ReLU(),
                                  *[m for _ in range(3) for m in (nn.Conv2d(width, width, 3, padding=1), nn.ReLU())])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))


def test_a_kernel_whose_stack_the_model_would_not_notice_is_not_flagged() -> None:
    x = torch.randn(1, 3, 64, 64)
    model = FiveByFiveStem().eval()
    alone = One(copy.deepcopy(model.stem[2])).eval()
    [conv_alone] = lint(alone, torch.randn(1, 16, 32, 32))   # the same conv on its own is a 28%-cheaper stack...
    assert metric(conv_alone, "MACs").after < 0.75 * metric(conv_alone, "MACs").before
    assert lint(model, x) == []                                # ...but under 5% of this model
    [kept] = lint(model, x, show_all=True)
    assert kept.severity == Severity.INFO and "`min_total_share`" in kept.message
    saved = metric(kept, "MACs").before - metric(kept, "MACs").after
    assert f"{saved:,} MACs" in kept.message
    assert len(warnings(lint(model, x, min_total_share=0.0))) == 1


def test_many_large_kernels_count_together() -> None:
    """Each of three 5×5 convs saves under 5% of the model, together more: all three are reported."""
    x = torch.randn(1, 3, 64, 64)
    model = FiveByFiveStem(width=32, stem_convs=3, stem_width=16).eval()
    findings = warnings(lint(model, x))
    assert [f.module for f in findings] == ["stem.2", "stem.4", "stem.6"]
    total = metric(findings[0], "model MACs (conv + linear)").before
    savings = [metric(f, "MACs").before - metric(f, "MACs").after for f in findings]
    assert all(s < 0.05 * total for s in savings) and sum(savings) >= 0.05 * total

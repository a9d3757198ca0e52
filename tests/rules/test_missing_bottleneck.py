"""missing-bottleneck (AL601).

Numbers are recomputed from real layers: the reported conv's p.numel(), the suggested block built by
executing the finding's snippet, MACs from torch's FlopCounterMode on the real input map, and the
model-level totals by applying every suggested block to a copy of the model.
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

from archlint.plugin.findings import Finding, Metric, Severity
from archlint_rules.missing_bottleneck import MissingBottleneck

from rule_support import lint as lint_rule, run_on_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import missing_bottleneck_bad  # noqa: E402
import missing_bottleneck_fixed  # noqa: E402



def zoo_input(name: str, traced: Callable) -> torch.Tensor:
    """An input of the shape the session fixture traced `name` with (the rules only read shapes)."""
    return torch.randn(traced(name)[1].inputs()[0].out_shape, generator=torch.Generator().manual_seed(0))

MODEL_PARAMS = "model params"                 # with this finding's conv as a bottleneck, measured on the fixed copy
MODEL_MACS = "model MACs (conv + linear)"


def numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def measured_macs(module: nn.Module, x: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops() // 2


def metric(finding: Finding, name: str) -> Metric:
    return next(m for m in finding.effect if m.name == name)


def lint(model: nn.Module, x: torch.Tensor, **options: Any) -> list[Finding]:
    return lint_rule(model, x, rule="missing-bottleneck", options=options, probe=False)


def apply_fixes(model: nn.Module, findings: list[Finding]) -> nn.Module:
    fixed = copy.deepcopy(model)
    for finding in findings:
        exec(finding.fix.snippet, {"nn": nn, "model": fixed})
    return fixed


def input_of(model: nn.Module, path: str, x: torch.Tensor) -> torch.Tensor:
    seen: list[torch.Tensor] = []
    handle = model.get_submodule(path).register_forward_pre_hook(lambda m, args: seen.append(args[0]))
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen[0][:1]


def test_bad_example_is_reported_at_info_with_measured_numbers() -> None:
    model = missing_bottleneck_bad.build().eval()
    x, = missing_bottleneck_bad.example_inputs()
    findings = lint(model, x)
    assert [f.module for f in findings] == ["body.0.0", "body.1.0"]
    assert all(f.severity == Severity.INFO for f in findings)
    fixed = apply_fixes(model, findings)
    for finding in findings:
        conv, block = model.get_submodule(finding.module), fixed.get_submodule(finding.module)
        x_in = input_of(model, finding.module, x)
        assert [type(m).__name__ for m in block] == ["Conv2d", "ReLU", "Conv2d", "ReLU", "Conv2d"]
        assert (block[0].out_channels, block[2].in_channels, block[2].out_channels) == (64, 64, 64)
        assert metric(finding, "params").before == numel(conv) == 256 * 256 * 9
        assert metric(finding, "params").after == numel(block) == 256 * 64 + 64 * 64 * 9 + 64 * 256
        assert metric(finding, "MACs").before == measured_macs(conv, x_in)
        assert metric(finding, "MACs").after == measured_macs(block, x_in)
        assert block(x_in).shape == conv(x_in).shape
        alone = apply_fixes(model, [finding])    # the fixed copy a finding is measured on: its own change only
        assert metric(finding, MODEL_PARAMS).before == numel(model)
        assert metric(finding, MODEL_PARAMS).after == numel(alone)
        assert metric(finding, MODEL_MACS).before == measured_macs(model, x[:1])
        assert metric(finding, MODEL_MACS).after == measured_macs(alone, x[:1])
        assert f"{numel(conv):,} params" in finding.message
    assert fixed(x).shape == model(x).shape


def test_fixed_example_is_clean() -> None:
    x, = missing_bottleneck_fixed.example_inputs()
    assert lint(missing_bottleneck_fixed.build().eval(), x) == []


def wide(*layers: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 256, 1), *layers).eval()


X = torch.randn(1, 3, 8, 8)


def test_conv_after_a_1x1_reduction_is_already_a_bottleneck() -> None:
    reduced = wide(nn.Conv2d(256, 512, 1), nn.Conv2d(512, 256, 1), nn.BatchNorm2d(256), nn.ReLU(),
                   nn.Conv2d(256, 256, 3, padding=1))
    assert lint(reduced, X) == []
    # a 1×1 that does not reduce is not a bottleneck
    not_reduced = wide(nn.Conv2d(256, 256, 1), nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1))
    assert [f.module for f in lint(not_reduced, X)] == ["3"]


def test_depthwise_grouped_and_pointwise_convs_are_not_reported() -> None:
    model = wide(nn.Conv2d(256, 256, 3, padding=1, groups=256), nn.Conv2d(256, 256, 3, padding=1, groups=8),
                 nn.Conv2d(256, 256, 1), nn.Conv2d(256, 256, (1, 3), padding=(0, 1)))
    assert lint(model, X) == []


def test_min_channels_and_reduction_options() -> None:
    model = wide(nn.Conv2d(256, 128, 3, padding=1), nn.Conv2d(128, 128, 3, padding=1, bias=False))
    assert lint(model, X) == []
    found = lint(model, X, min_channels=128, reduction=2)
    assert [f.module for f in found] == ["1", "2"]
    second = found[1]
    block = nn.Sequential(nn.Conv2d(128, 64, 1, bias=False), nn.Conv2d(64, 64, 3, padding=1, bias=False),
                          nn.Conv2d(64, 128, 1, bias=False))
    assert metric(second, "params").after == numel(block)


def test_stride_stays_on_the_spatial_conv() -> None:
    model = wide(nn.Conv2d(256, 256, 3, stride=2, padding=1))
    finding, = lint(model, torch.randn(1, 3, 9, 9))
    block = apply_fixes(model, [finding])[1]
    x_in = torch.randn(1, 256, 9, 9)
    assert block(x_in).shape == model[1](x_in).shape == (1, 256, 5, 5)
    assert block[2].stride == (2, 2)
    assert metric(finding, "MACs").after == measured_macs(block, x_in)


def lint_traced(traced: Callable, zoo: Callable, name: str) -> list[Finding]:
    _, graph = traced(name)
    return run_on_graph(MissingBottleneck, zoo(name), graph, (zoo_input(name, traced),), name=name)


def test_vgg16_wide_convs_are_reported(zoo: Callable, traced: Callable) -> None:
    model = zoo("vgg16")
    findings = lint_traced(traced, zoo, "vgg16")
    expected = [f"features.{i}" for i, m in enumerate(model.features)
                if isinstance(m, nn.Conv2d) and m.in_channels >= 256 and m.out_channels >= 256]
    assert [f.module for f in findings] == expected and len(expected) == 8
    for finding in findings:
        conv = model.get_submodule(finding.module)
        width = min(conv.in_channels, conv.out_channels) // 4
        block = nn.Sequential(nn.Conv2d(conv.in_channels, width, 1), nn.Conv2d(width, width, 3, padding=1),
                              nn.Conv2d(width, conv.out_channels, 1))
        assert metric(finding, "params").before == numel(conv)
        assert metric(finding, "params").after == numel(block)
        saved_params = numel(conv) - numel(block)
        assert metric(finding, MODEL_PARAMS).after == numel(model) - saved_params   # this conv replaced


@pytest.mark.parametrize("name", ["resnet50", "densenet121", "mobilenet_v2", "regnet_y_400mf"])
def test_bottlenecked_and_narrow_models_are_not_reported(zoo: Callable, traced: Callable, name: str) -> None:
    assert lint_traced(traced, zoo, name) == []


def test_a_conv_whose_kernel_covers_the_map_is_a_fully_connected_layer_not_a_bottleneck_candidate() -> None:
    """timm's VGG head: a 7×7 conv over the 7×7 map (512→4096 there; 64→128 here) is a Linear in conv form."""
    torch.manual_seed(0)
    body = [torch.nn.Conv2d(3, 64, 3, stride=2, padding=1), torch.nn.ReLU()]
    head = [torch.nn.Conv2d(64, 128, 7), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(128, 10)]
    model = torch.nn.Sequential(*body, *head).eval()
    assert lint(model, torch.randn(2, 3, 14, 14), min_channels=16) == []
    # the same conv with a map to slide over (28×28 input: a 8×8 output) is a spatial conv and is judged
    wide = torch.nn.Sequential(*body, torch.nn.Conv2d(64, 128, 7), torch.nn.ReLU(),
                               torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(128, 10)).eval()
    assert [f.module for f in lint(wide, torch.randn(2, 3, 28, 28), min_channels=16)] == ["2"]

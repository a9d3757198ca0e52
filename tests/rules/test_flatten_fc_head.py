"""flatten-fc-head (AL301).

Every number in a finding is recomputed here from the real layers: parameters as p.numel() sums over
the modules, MACs with torch's FlopCounterMode on the head's own Linear layers, and the pooled head
by building the suggested nn.Linear.
"""
from __future__ import annotations

import copy

import sys
from pathlib import Path
from typing import Any, Callable

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archlint.plugin.findings import Finding, Metric
from archlint_rules.flatten_fc_head import FlattenFcHead

from rule_support import lint as lint_rule, run_on_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import flatten_fc_head_bad  # noqa: E402
import flatten_fc_head_fixed  # noqa: E402



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


def lint(model: nn.Module, x: torch.Tensor, **options: Any) -> list[Finding]:
    return lint_rule(model, x, rule="flatten-fc-head", options=options, probe=False)


def lint_traced(traced: Callable, zoo: Callable, name: str) -> list[Finding]:
    _, graph = traced(name)
    return run_on_graph(FlattenFcHead, zoo(name), graph, (zoo_input(name, traced),), name=name)


# -- the project's examples -------------------------------------------------------------------------

def test_bad_example_is_flagged_with_measured_numbers() -> None:
    model = flatten_fc_head_bad.build().eval()
    x, = flatten_fc_head_bad.example_inputs()
    findings = lint(model, x)
    assert len(findings) == 1
    finding = findings[0]
    assert finding.module == "classifier.0"
    head = numel(model.classifier)
    total = numel(model)
    gap = nn.Linear(64, 10)
    assert metric(finding, "head params").before == head == 4096 * 256 + 256 + 256 * 10 + 10
    assert metric(finding, "head params").after == numel(gap)
    assert metric(finding, "model params").before == total
    assert metric(finding, "model params").after == total - head + numel(gap)
    share = metric(finding, "head share of model params")
    assert share.before == round(head / total, 4)
    assert share.after == round(numel(gap) / (total - head + numel(gap)), 4)
    assert metric(finding, "head MACs").before == measured_macs(model.classifier, torch.randn(1, 4096))
    assert metric(finding, "head MACs").after == measured_macs(gap, torch.randn(1, 64))
    all_macs = measured_macs(model, x[:1])
    assert metric(finding, "head share of model MACs (conv + linear)").before == \
        round(measured_macs(model.classifier, torch.randn(1, 4096)) / all_macs, 4)
    assert "nn.Linear(64, 10)" in finding.fix.snippet and "nn.AdaptiveAvgPool2d(1)" in finding.fix.snippet
    assert f"{head:,} params" in finding.message and "64×8×8" in finding.message


def test_the_suggested_head_runs_on_the_model_and_gives_the_same_output_size() -> None:
    model = flatten_fc_head_bad.build().eval()
    x, = flatten_fc_head_bad.example_inputs()
    finding = lint(model, x)[0]
    fixed = copy.deepcopy(model)
    exec(finding.fix.snippet, {"nn": nn, "model": fixed})      # the snippet is the change the engine ran
    assert finding.fix.verified and fixed(x).shape == model(x).shape
    assert numel(fixed.classifier) == metric(finding, "head params").after


def test_fixed_example_is_clean() -> None:
    x, = flatten_fc_head_fixed.example_inputs()
    assert lint(flatten_fc_head_fixed.build().eval(), x) == []


# -- how the flatten is written ------------------------------------------------------------------------

FLATTENS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "nn.Flatten": nn.Flatten(),
    "torch.flatten": lambda x: torch.flatten(x, 1),
    "view(size(0), -1)": lambda x: x.view(x.size(0), -1),
    "reshape(n, -1)": lambda x: x.reshape(x.shape[0], -1),
}
GLOBAL_POOLS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "mean": lambda x: x.mean((2, 3)),
    "mean keepdim": lambda x: torch.flatten(x.mean((2, 3), keepdim=True), 1),
    "F.adaptive_avg_pool2d": lambda x: torch.flatten(F.adaptive_avg_pool2d(x, 1), 1),
    "nn.AdaptiveAvgPool2d(1)": nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()),
    "nn.AdaptiveAvgPool2d((1, 1))": nn.Sequential(nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten()),
}


class Net(nn.Module):
    """conv 3→16 on 12×12, then `to_vector`, then Dropout → Linear(in, 32) → ReLU → Linear(32, 5)."""

    def __init__(self, to_vector: Callable[[torch.Tensor], torch.Tensor], in_features: int):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.to_vector = to_vector if isinstance(to_vector, nn.Module) else None
        self.fn = None if isinstance(to_vector, nn.Module) else to_vector
        self.drop = nn.Dropout(0.2)
        self.fc1 = nn.Linear(in_features, 32)
        self.fc2 = nn.Linear(32, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv(x))
        x = self.to_vector(x) if self.to_vector is not None else self.fn(x)
        return self.fc2(torch.relu(self.fc1(self.drop(x))))


X = torch.randn(2, 3, 12, 12)


@pytest.mark.parametrize("how", list(FLATTENS))
def test_every_way_of_flattening_a_map_is_found(how: str) -> None:
    model = Net(FLATTENS[how], 16 * 12 * 12).eval()
    findings = lint(model, X)
    assert [f.module for f in findings] == ["fc1"]
    assert metric(findings[0], "head params").before == numel(model.fc1) + numel(model.fc2)
    # the head's layers are attributes called in forward: no module replacement runs, so no after-number
    assert metric(findings[0], "head params").after is None and findings[0].fix.change is None
    assert any("no module replacement was run on a copy" in u for u in findings[0].unmeasured)


@pytest.mark.parametrize("how", list(GLOBAL_POOLS))
def test_global_pooling_is_recognised_as_fine(how: str) -> None:
    assert lint(Net(GLOBAL_POOLS[how], 16).eval(), X) == []


def test_a_small_head_is_below_the_share_and_the_count_thresholds() -> None:
    model = nn.Sequential(nn.Conv2d(3, 256, 3, padding=1), nn.ReLU(), nn.Conv2d(256, 256, 3, padding=1),
                          nn.MaxPool2d(6), nn.Flatten(), nn.Linear(256 * 4, 10)).eval()
    head = numel(model[5])
    assert head / numel(model) < 0.5   # 10,250 of 600k: the conv body dominates
    assert lint(model, torch.randn(1, 3, 12, 12)) == []
    # the absolute option flags it whatever the share
    flagged = lint(model, torch.randn(1, 3, 12, 12), max_head_params=head - 1)
    assert len(flagged) == 1 and metric(flagged[0], "head params").before == head
    # and a share threshold above the head's share keeps the bad example quiet
    x, = flatten_fc_head_bad.example_inputs()
    assert lint(flatten_fc_head_bad.build().eval(), x, max_head_share=0.99) == []


def test_a_token_sequence_is_not_a_spatial_map() -> None:
    class Tokens(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(8, 16)
            self.fc = nn.Linear(16 * 10, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.embed(x).flatten(1))

    assert lint(Tokens().eval(), torch.randn(2, 10, 8)) == []


# -- torchvision ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, channels, side", [("vgg16", 512, 7), ("alexnet", 256, 6)])
def test_vgg16_and_alexnet_heads_are_flagged(zoo: Callable, traced: Callable, name: str, channels: int,
                                             side: int) -> None:
    model = zoo(name)
    findings = lint_traced(traced, zoo, name)
    assert len(findings) == 1
    finding = findings[0]
    linears = [m for m in model.classifier if isinstance(m, nn.Linear)]
    head = numel(model.classifier)
    total = numel(model)
    gap = nn.Linear(channels, 1000)
    assert linears[0].in_features == channels * side * side
    assert metric(finding, "head params").before == head
    assert metric(finding, "head params").after == numel(gap)
    assert metric(finding, "head share of model params").before == round(head / total, 4)
    flat = torch.randn(1, linears[0].in_features)
    assert metric(finding, "head MACs").before == measured_macs(model.classifier, flat)
    assert metric(finding, "head MACs").after == measured_macs(gap, torch.randn(1, channels))
    assert f"nn.Linear({channels}, 1000)" in finding.fix.snippet
    assert f"pools to {side}×{side}, not 1" in finding.message
    if name == "vgg16":
        assert total == 138_357_544 and round(head / total, 2) == 0.89   # "about 89% of 138M"


@pytest.mark.parametrize("name", ["resnet50", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0",
                                  "convnext_tiny", "vit_b_16", "densenet121", "regnet_y_400mf"])
def test_pooled_torchvision_heads_are_not_flagged(zoo: Callable, traced: Callable, name: str) -> None:
    assert lint_traced(traced, zoo, name) == []


def test_a_flatten_feeding_two_heads_reports_each() -> None:
    class TwoHeads(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, padding=1)
            self.cls = nn.Linear(16 * 12 * 12, 5)
            self.box = nn.Sequential(nn.Linear(16 * 12 * 12, 64), nn.ReLU(), nn.Linear(64, 4))

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            flat = torch.flatten(self.conv(x), 1)
            return self.cls(flat), self.box(flat)

    model = TwoHeads().eval()
    assert [f.module for f in lint(model, X)] == ["box.0"]   # cls holds 7% of the params: under the 50% share
    findings = lint(model, X, max_head_share=0.05)
    assert sorted(f.module for f in findings) == ["box.0", "cls"]
    by_module = {f.module: f for f in findings}
    assert metric(by_module["cls"], "head params").before == numel(model.cls)
    assert metric(by_module["box.0"], "head params").before == numel(model.box)
    # pooling the map where it is made would starve the other head: the fix does not verify, so no after-number
    box = by_module["box.0"]
    assert box.fix.verified is False and metric(box, "head params").after is None
    assert any("the fix was not verified: the fixed copy does not run the example input" in u for u in box.unmeasured)
    assert metric(by_module["cls"], "head params").after is None         # a Linear called in forward: not run


class _ConvHeadNet(torch.nn.Module):
    """timm VGG's head in small: a 4×4 conv over the 4×4 map (a Linear in conv form), a 1×1 conv, then global
    pooling of the 1×1 map and a Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Sequential(torch.nn.Conv2d(3, 32, 3, padding=1), torch.nn.ReLU(),
                                             torch.nn.MaxPool2d(4))
        self.fc1 = torch.nn.Conv2d(32, 256, 4)
        self.fc2 = torch.nn.Conv2d(256, 256, 1)
        self.fc = torch.nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.fc2(torch.relu(self.fc1(self.features(x)))))
        return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))


def test_a_conv_covering_the_whole_map_is_a_fully_connected_head() -> None:
    model = _ConvHeadNet().eval()
    [finding] = lint(model, torch.randn(2, 3, 16, 16))
    assert finding.module == "fc1" and "is read whole by the 4×4 conv `fc1`" in finding.message
    head = sum(p.numel() for m in (model.fc1, model.fc2, model.fc) for p in m.parameters())
    params = {m.name: m for m in finding.effect}["head params"]
    assert (params.before, params.after) == (head, None)       # its layers are called in forward: no change ran
    assert any("no module replacement was run on a copy" in u for u in finding.unmeasured)
    # on a larger image the same conv slides over an 8×8 map: a spatial conv, not a head
    assert lint(model, torch.randn(2, 3, 44, 44)) == []

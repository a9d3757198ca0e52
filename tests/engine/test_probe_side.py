"""The probe runs at half the image side only where that keeps what it measures (ModelAnalyses.probe_side)."""
from __future__ import annotations

import torch
from torch import nn

import archlint
from archlint.analysis.graph import build_graph
from archlint.analysis.shared import ModelAnalyses
from archlint.trace.tracers import trace_model


def _analyses(model: nn.Module, *inputs: torch.Tensor) -> ModelAnalyses:
    model.eval()
    graph = build_graph(trace_model(model, inputs).graph_module, model)
    return ModelAnalyses(model, graph, inputs)


class ConvNet(nn.Module):
    """Stride 8 overall, global pooling: at 224 px its last map is 28x28, at 112 px 14x14."""

    def __init__(self, stride: int = 2) -> None:
        super().__init__()
        self.body = nn.Sequential(*[nn.Sequential(nn.Conv2d(3 if i == 0 else 16, 16, 3, stride, 1), nn.BatchNorm2d(16),
                                                  nn.ReLU()) for i in range(3)])
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x).mean((2, 3)))


class FixedPositions(nn.Module):
    """Patch tokens plus a position embedding sized for 224 px: any other size fails."""

    def __init__(self) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 32, 16, 16)
        self.position = nn.Parameter(torch.randn(1, 196, 32))
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(x).flatten(2).transpose(1, 2) + self.position
        return self.head(tokens.mean(1))


class Tokens(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mix = nn.Linear(256, 256)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mix(x)


def test_a_conv_net_is_probed_at_half_the_side_and_the_method_says_so() -> None:
    analyses = _analyses(ConvNet(), torch.randn(2, 3, 224, 224))
    assert analyses.probe_side == 112
    probe = analyses.probe()
    assert probe.input_shapes == [(2, 3, 112, 112)]
    assert "inputs resized to ≤112 px per side" in probe.method


def test_sizes_it_cannot_halve_are_probed_as_they_are() -> None:
    assert _analyses(ConvNet(), torch.randn(2, 3, 64, 64)).probe_side is None       # small images
    assert _analyses(FixedPositions(), torch.randn(2, 3, 224, 224)).probe_side is None   # does not run at 112
    # stride 8 on 16 px leaves 2x2; halving would leave one position: the map would stop being a map
    collapsing = _analyses(ConvNet(stride=8), torch.randn(2, 3, 128, 128))
    assert collapsing.probe_side is None
    assert collapsing.probe().input_shapes == [(2, 3, 128, 128)]
    assert _analyses(Tokens(), torch.randn(2, 197, 256)).probe_side is None          # sequences are never resized


def test_every_probe_measurement_of_a_lint_uses_the_same_side() -> None:
    """The shared probe and the graph-gradient passes (missing-residual's) run at the same reduced side."""
    model = nn.Sequential(*[nn.Sequential(nn.Conv2d(3 if i == 0 else 8, 8, 3, 1, 1), nn.Tanh()) for i in range(12)],
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    report = archlint.check(model, torch.randn(2, 3, 128, 128))
    methods = [m.method for f in report.models[0].findings for m in f.effect if m.method.startswith("probe")]
    assert methods and all("inputs resized to ≤64 px per side" in m for m in methods)

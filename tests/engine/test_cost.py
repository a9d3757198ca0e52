"""archlint.analysis.cost: counts checked against real layers.

Params against `p.numel()` of built modules, output sizes against a real forward pass, MACs against
torch's own FlopCounterMode (2 FLOPs per multiply-accumulate), receptive fields against the nonzero
extent of an input gradient on an all-ones copy.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archlint.analysis.cost import (
    ConvSpec, chain_cost, chain_receptive_field, conv_spec, linear_macs, linear_params, model_macs, node_macs,
)
from archlint.analysis.graph import build_graph
from archlint.trace.tracers import trace_model


def measured_macs(module: nn.Module, x: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops() // 2


def numel(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def spec_of(conv: nn.modules.conv._ConvNd) -> ConvSpec:
    return ConvSpec(conv.in_channels, conv.out_channels, tuple(conv.kernel_size), tuple(conv.stride),
                    tuple(conv.padding), tuple(conv.dilation), conv.groups, conv.bias is not None)


CONVS = [
    nn.Conv2d(8, 16, 3, padding=1),
    nn.Conv2d(8, 16, 5, stride=2, padding=1, bias=False),
    nn.Conv2d(8, 8, 7, padding=3, groups=8),
    nn.Conv2d(8, 12, (7, 1), padding=(3, 0), groups=4),
    nn.Conv2d(8, 16, 4, stride=3, dilation=2),
    nn.Conv1d(6, 10, 5, padding=2),
    nn.Conv3d(4, 6, 3, stride=(1, 2, 2), padding=1),
]


@pytest.mark.parametrize("conv", CONVS, ids=lambda c: repr(c))
def test_conv_spec_counts_match_the_real_layer(conv: nn.modules.conv._ConvNd) -> None:
    spec = spec_of(conv)
    dims = spec.spatial_dims
    x = torch.randn(1, conv.in_channels, *([13] * dims))
    out = conv(x)
    assert spec.params() == numel(conv)
    assert spec.output_size(x.shape[2:]) == tuple(out.shape[2:])
    assert spec.macs(tuple(out.shape[2:])) == measured_macs(conv, x)
    assert spec.receptive_field() == tuple(d * (k - 1) + 1 for k, d in zip(conv.kernel_size, conv.dilation))


def test_module_code_builds_the_same_layer() -> None:
    for conv in CONVS:
        rebuilt = eval(spec_of(conv).module_code(), {"nn": nn})
        assert repr(rebuilt) == repr(conv)


class Functional(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(12, 2, 5, 5))
        self.b = nn.Parameter(torch.zeros(12))
        self.conv = nn.Conv2d(12, 24, 3, stride=2, padding=1, bias=False)
        self.fc = nn.Linear(24, 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.conv2d(x, self.w, self.b, padding=2, groups=3))
        return self.fc(y.flatten(2).transpose(1, 2))   # a linear on tokens: 4·4 rows


def test_conv_spec_and_macs_from_the_traced_graph() -> None:
    model = Functional().eval()
    x = torch.randn(1, 6, 8, 8)
    graph = build_graph(trace_model(model, (x,)).graph_module, model)
    functional = graph.nodes("conv")[0]
    spec = conv_spec(functional)
    assert spec is not None
    assert (spec.in_channels, spec.out_channels, spec.groups, spec.kernel, spec.padding, spec.bias) == \
        (6, 12, 3, (5, 5), (2, 2), True)
    assert spec.params() == model.w.numel() + model.b.numel()
    module_node = graph.by_module("conv")[0]
    assert conv_spec(module_node) == spec_of(model.conv)
    linear = graph.by_module("fc")[0]
    assert node_macs(linear) == 16 * 24 * 7
    assert model_macs(graph) == measured_macs(model, x)


def test_linear_counts() -> None:
    layer = nn.Linear(30, 11)
    assert linear_params(30, 11) == numel(layer)
    assert linear_params(30, 11, bias=False) == numel(nn.Linear(30, 11, bias=False))
    assert linear_macs(30, 11, rows=5) == measured_macs(layer, torch.randn(1, 5, 30))


def chain_of(specs: list[ConvSpec]) -> nn.Sequential:
    return nn.Sequential(*[eval(s.module_code(), {"nn": nn}) for s in specs])


def test_chain_cost_matches_the_built_chain() -> None:
    specs = [ConvSpec(8, 8, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
             ConvSpec(8, 16, (3, 2), (2, 1), (0, 1), (1, 2), 2, False)]
    chain = chain_of(specs)
    x = torch.randn(1, 8, 15, 11)
    cost = chain_cost(specs, (15, 11))
    assert cost.params == numel(chain)
    assert cost.output_size == tuple(chain(x).shape[2:])
    assert cost.sizes[0] == tuple(chain[0](x).shape[2:])
    assert cost.macs == measured_macs(chain, x)


def gradient_extent(module: nn.Module, x: torch.Tensor) -> tuple[int, ...]:
    """Input extent (per axis) with nonzero gradient for the centre output position, all-ones weights."""
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.fill_(1.0)
    x = torch.ones_like(x, dtype=torch.float64, requires_grad=True)
    out = module(x)
    centre = (0, slice(None), *[s // 2 for s in out.shape[2:]])
    out[centre].sum().backward()
    grad = x.grad[0].abs().sum(0)
    extents = []
    for axis in range(grad.dim()):
        others = [a for a in range(grad.dim()) if a != axis]
        nz = torch.nonzero(grad.amax(dim=others) > 0 if others else grad > 0).flatten()
        extents.append(int(nz.max() - nz.min() + 1))
    return tuple(extents)


def test_chain_receptive_field_matches_the_gradient() -> None:
    specs = [ConvSpec(2, 2, (3, 3), (2, 1), (0, 0), (1, 1)),
             ConvSpec(2, 2, (3, 2), (1, 1), (0, 0), (2, 1)),
             ConvSpec(2, 1, (3, 3), (1, 1), (0, 0), (1, 1))]
    # by hand: axis 0: 1 + 2 + 2·2·2 + 2·2 = 15; axis 1: 1 + 2 + 1 + 2 = 6
    assert chain_receptive_field(specs) == (15, 6)
    assert gradient_extent(chain_of(specs), torch.zeros(1, 2, 40, 20)) == (15, 6)


def test_functional_linear_macs_come_from_the_weight_it_reads() -> None:
    """Exported graphs (Hugging Face ConvNeXt) keep pointwise layers as F.linear calls on channels-last maps;
    they were priced at 0 MACs, so a depthwise conv looked like a large share of the model."""
    import torch.nn.functional as F

    from archlint.analysis.cost import model_macs, node_macs
    from archlint.analysis.graph import build_graph
    from archlint.trace.tracers import trace_model

    class Pointwise(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(12, 8))

        def forward(self, x: torch.Tensor) -> torch.Tensor:   # N, H, W, C
            return F.linear(x, self.weight)

    model = Pointwise()
    graph = build_graph(trace_model(model, (torch.randn(2, 5, 5, 8),)).graph_module, model)
    [linear] = graph.nodes("linear")
    assert linear.op == "call_function" and node_macs(linear) == 8 * 12 * 5 * 5 == model_macs(graph)

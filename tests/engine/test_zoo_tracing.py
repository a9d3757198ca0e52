"""Every torchvision classification model traces, with data flow, shapes and parameter counts.

Models are built on the meta device (no weight memory, so the 600M-parameter ones are cheap) and
traced once per session through the `traced_on_meta` fixture; only tracing and shape propagation
run here, no rules. Run with `-s` to see the summary (tracer per model, median time).
"""
from __future__ import annotations

import statistics
from typing import Any

import networkx as nx
import pytest
import torchvision
from torch import nn

from archlint.analysis.graph import ArchGraph
from archlint.trace.result import TRACER_ORDER

MODELS = torchvision.models.list_models(module=torchvision.models)
# Auxiliary classifiers run only in training mode; the graph is traced in eval mode.
AUX_HEADS = ("AuxLogits", "aux1", "aux2")


def conv_output_size(size: int, conv: nn.Conv2d, axis: int) -> int:
    """Conv arithmetic from the module's own attributes (independent of the traced shapes)."""
    if conv.padding == "same":
        return size
    padding = 0 if conv.padding == "valid" else conv.padding[axis]
    k, s, d = conv.kernel_size[axis], conv.stride[axis], conv.dilation[axis]
    return (size + 2 * padding - d * (k - 1) - 1) // s + 1


def unique_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in {id(p): p for p in module.parameters()}.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_zoo_model_traces_with_data_flow_and_shapes(name: str, traced_on_meta: Any) -> None:
    model, result, graph, _ = traced_on_meta(name)
    assert result.tracer in TRACER_ORDER
    assert result.attempts[-1].ok and result.attempts[-1].tracer == result.tracer
    check_data_flow(graph)
    check_conv_shapes(graph)
    check_parameters(model, graph)
    check_sources(graph)


def check_sources(graph: ArchGraph) -> None:
    """Built under recording_sites (build_model does it): every layer knows the line that constructed it."""
    layers = [n for n in graph.nodes() if n.op == "call_module"]
    missing = [n.module_path for n in layers if n.source is None]
    assert layers and not missing
    assert all(n.source.file.endswith(".py") and n.source.line > 0 for n in layers)


def check_data_flow(graph: ArchGraph) -> None:
    """Every computing node has an input, and the output is reachable from the image."""
    [image] = graph.inputs()
    for node in graph.nodes():
        if node.kind not in ("input", "param", "shape"):
            assert graph.predecessors(node), f"{node} has no data input"
    assert nx.has_path(graph.g, image.name, graph.output().name)


def check_conv_shapes(graph: ArchGraph) -> None:
    convs = graph.nodes("conv")
    assert convs
    for node in convs:
        conv = node.module
        assert isinstance(conv, nn.Conv2d) and node.out_shape is not None and len(node.in_shapes) == 1
        (batch, _, height, width) = node.in_shapes[0]
        expected = (batch, conv.out_channels, conv_output_size(height, conv, 0), conv_output_size(width, conv, 1))
        assert node.out_shape == expected, node


def check_parameters(model: nn.Module, graph: ArchGraph) -> None:
    total = unique_parameters(model)
    assert graph.parameter_count() == total
    unused = sum(unique_parameters(getattr(model, aux)) for aux in AUX_HEADS if getattr(model, aux, None) is not None)
    assert sum(n.unique_params for n in graph.nodes()) == total - unused


RESIDUAL_BLOCKS = ("BasicBlock", "Bottleneck")


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2"])
def test_resnets_have_one_two_input_add_per_block(name: str, traced_on_meta: Any) -> None:
    model, _, graph, _ = traced_on_meta(name)
    blocks = [m for m in model.modules() if type(m).__name__ in RESIDUAL_BLOCKS]
    adds = graph.nodes("add")
    assert len(adds) == len(blocks) > 0
    for add in adds:
        inputs = graph.predecessors(add)
        assert len(inputs) == 2 and inputs[0].out_shape == inputs[1].out_shape == add.out_shape


@pytest.mark.parametrize("name", ["densenet121", "densenet161"])
def test_densenets_concatenate_every_earlier_feature_map(name: str, traced_on_meta: Any) -> None:
    model, _, graph, _ = traced_on_meta(name)
    blocks = [m for m in model.modules() if type(m).__name__ == "_DenseBlock"]
    layers_per_block = [sum(1 for c in b.children() if type(c).__name__ == "_DenseLayer") for b in blocks]
    cats = graph.nodes("cat")
    # inside a block, layer i concatenates the block input and i earlier outputs; each block ends with a cat
    expected_widths = sorted([i + 1 for n in layers_per_block for i in range(n)] + [n + 1 for n in layers_per_block])
    assert sorted(len(graph.predecessors(c)) for c in cats) == expected_widths
    for cat in cats:
        assert cat.out_shape[1] == sum(shape[1] for shape in cat.in_shapes)
    assert max(c.out_shape[1] for c in cats) == model.classifier.in_features


def test_vit_head_and_attention(traced_on_meta: Any) -> None:
    model, _, graph, _ = traced_on_meta("vit_b_16")
    attention = graph.nodes("attention")
    assert len(attention) == len(model.encoder.layers) == 12
    assert all(a.out_shape == (1, 197, 768) for a in attention)
    head = graph.head()
    assert head and head[-1].module is model.heads.head and head[-1].out_shape == (1, 1000)


@pytest.mark.slow
def test_zoo_summary(traced_on_meta: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """How many models plain fx handles and the median trace + shape propagation time (printed)."""
    runs = {name: traced_on_meta(name) for name in MODELS}
    by_tracer: dict[str, list[str]] = {}
    for name, (_, result, _, _) in runs.items():
        by_tracer.setdefault(result.tracer, []).append(name)
    wall = statistics.median(seconds["wall"] for (_, _, _, seconds) in runs.values())
    cpu = statistics.median(seconds["cpu"] for (_, _, _, seconds) in runs.values())
    with capsys.disabled():
        print(f"\ntorchvision classification models: {len(MODELS)}; by tracer: "
              f"{ {k: len(v) for k, v in by_tracer.items()} }; needing a fallback: "
              f"{sorted(n for k, v in by_tracer.items() if k != 'fx' for n in v)}; "
              f"median trace + shape propagation {wall:.2f} s wall, {cpu:.2f} s CPU (meta weights)")
    assert sum(len(v) for v in by_tracer.values()) == len(MODELS)

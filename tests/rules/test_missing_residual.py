"""missing-residual: chain lengths on torchvision graphs, measured ratios vs an independent rewrite + backward."""
from __future__ import annotations

import copy
import importlib.util
import pathlib

import pytest
import torch

import archlint
from archlint.rewrite import add_identity_shortcuts
from archlint.tracing import trace_model
from archlint.graph import build_graph
from archlint.rules.missing_residual import longest_unbypassed_chain, shortcut_spans

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.mark.parametrize("name,flagged", [
    ("vgg16", True), ("resnet50", False), ("densenet121", False), ("mobilenet_v2", False),
    ("mobilenet_v3_small", False), ("efficientnet_b0", False), ("vit_b_16", False),
])
def test_chain_length_on_torchvision(traced, name: str, flagged: bool) -> None:
    _, graph = traced(name)
    chain = longest_unbypassed_chain(graph)
    if name == "vgg16":
        assert len(chain) == 16 and chain[0].module_path == "features.0" and chain[-1].module_path == "classifier.6"
    assert (len(chain) > 10) is flagged, [n.module_path for n in chain]


def _weight_grads(model: torch.nn.Module, inputs) -> dict[str, torch.Tensor]:
    model.train()
    torch.manual_seed(0)
    out = model(*inputs)
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
    return {n: p.grad for n, p in model.named_parameters()}


def test_bad_example_ratio_before_and_after_match_independent_backward() -> None:
    example = _example("missing_residual_bad")
    model, inputs = example.build(), example.example_inputs()
    [finding] = archlint.check(model, inputs, select=["AL401"]).models[0].findings
    assert finding.message.startswith("15 parametric layers")
    grads = _weight_grads(copy.deepcopy(model), inputs)
    before = float(grads["stem.0.weight"].norm() / grads["fc.weight"].norm())
    ratio = finding.effect[0]
    assert ratio.before == pytest.approx(before, rel=1e-4)
    # after: our own rewrite of a fresh trace with the same spans, run the same way
    traced = trace_model(model, inputs)
    graph = build_graph(traced.graph_module, model)
    spans = shortcut_spans(graph, longest_unbypassed_chain(graph))
    assert len(spans) == 6
    rewritten = add_identity_shortcuts(traced.graph_module, spans)
    adds = [n for n in rewritten.graph.nodes if n.op == "call_function" and "add" in str(n.target)]
    assert len(adds) == 6
    grads_after = _weight_grads(rewritten, inputs)
    after = float(grads_after["stem.0.weight"].norm() / grads_after["fc.weight"].norm())
    assert ratio.after == pytest.approx(after, rel=1e-4)
    assert "channels: int = 32" in finding.fix.snippet


def test_rewrite_adds_real_shortcuts() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4))
    traced = trace_model(net, (torch.randn(2, 4),))
    gm = traced.graph_module
    names = [n.name for n in gm.graph.nodes if n.op == "call_module"]
    from archlint.rewrite import Span

    rewritten = add_identity_shortcuts(gm, [Span(names[0], names[1])])
    x = torch.randn(2, 4)
    assert torch.allclose(rewritten(x), net[2](torch.relu(net[0](x)) + x))
    assert torch.allclose(gm(x), net(x))  # the original graph is unchanged


def test_fixed_example_clean_and_no_probe_still_flags() -> None:
    fixed = _example("missing_residual_fixed")
    assert archlint.check(fixed.build(), fixed.example_inputs(), select=["AL401"]).models[0].findings == []
    bad = _example("missing_residual_bad")
    [finding] = archlint.check(bad.build(), bad.example_inputs(), select=["AL401"], probe=False).models[0].findings
    assert finding.effect == () and any("no-probe" in u for u in finding.unmeasured)

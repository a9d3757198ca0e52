"""ArchGraph from fx: node kinds for modules, functions and methods, parameters (tied, shared, user
Parameters), construction sites, and the queries rules share."""
from __future__ import annotations

import inspect
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from archlint.load.construction import recording_sites
from archlint.analysis.graph import ArchGraph, build_graph
from archlint.trace.tracers import trace_model


def line_of(obj: Any, needle: str) -> int:
    lines, start = inspect.getsourcelines(obj)
    return next(start + i for i, text in enumerate(lines) if needle in text)


def graph_of(model: nn.Module, *inputs: torch.Tensor) -> ArchGraph:
    return build_graph(trace_model(model, inputs).graph_module, model)


class SkipNet(nn.Module):
    """A residual block, a concat, a functional head with both kinds of F.dropout, and a user Parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(16, 10)
        self.w = nn.Parameter(torch.randn(10, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.stem(x)))
        x = x + self.b(F.relu(self.a(x)))
        x = self.pool(x)
        z = torch.cat([x, x * 0.5], 1)
        z = F.adaptive_avg_pool2d(z, 1)
        z = torch.flatten(z, 1)
        z = F.dropout(z, 0.3, training=self.training)
        z = F.dropout(self.fc(z), 0.1)
        return z @ self.w


@pytest.fixture(scope="module")
def skipnet() -> tuple[SkipNet, ArchGraph]:
    with recording_sites():
        model = SkipNet()
    model.train()  # traced in eval mode regardless: training=self.training reads as off
    return model, graph_of(model, torch.randn(2, 3, 16, 16))


def test_kinds_and_shapes_of_functional_ops(skipnet: tuple[SkipNet, ArchGraph]) -> None:
    model, graph = skipnet
    assert [(n.name, n.kind) for n in graph.nodes()] == [
        ("x", "input"), ("stem", "conv"), ("bn", "norm"), ("relu", "act"), ("a", "conv"), ("relu_1", "act"),
        ("b", "conv"), ("add", "add"), ("pool", "pool"), ("mul", "other"), ("cat", "cat"),
        ("adaptive_avg_pool2d", "adaptive_pool"), ("flatten", "flatten"), ("dropout", "dropout"), ("fc", "linear"),
        ("dropout_1", "dropout"), ("w", "param"), ("matmul", "matmul"), ("output", "output"),
    ]
    assert graph["cat"].out_shape == (2, 16, 8, 8) and graph["cat"].in_shapes == [(2, 8, 8, 8), (2, 8, 8, 8)]
    assert graph["adaptive_avg_pool2d"].hparams == {"output_size": 1}
    assert graph["flatten"].hparams == {"start_dim": 1, "end_dim": -1}
    assert graph["flatten"].out_shape == (2, 16)
    assert graph["stem"].hparams["kernel_size"] == (3, 3) and graph["pool"].hparams["kernel_size"] == 2
    assert sorted(p.name for p in graph.predecessors("add")) == ["b", "relu"]
    assert sorted(p.name for p in graph.predecessors("cat")) == ["mul", "pool"]


def test_functional_dropout_with_and_without_the_training_flag(skipnet: tuple[SkipNet, ArchGraph]) -> None:
    _, graph = skipnet
    assert graph["dropout"].hparams["p"] == 0.3 and graph["dropout"].hparams["active_in_eval"] is False
    assert graph["dropout_1"].hparams["p"] == 0.1 and graph["dropout_1"].hparams["active_in_eval"] is True


def test_user_parameter_used_by_matmul(skipnet: tuple[SkipNet, ArchGraph]) -> None:
    model, graph = skipnet
    weight, matmul = graph["w"], graph["matmul"]
    assert (weight.type_name, weight.params, weight.out_shape) == ("Parameter", model.w.numel(), (10, 6))
    assert weight.source is not None and weight.source.line == line_of(SkipNet.__init__, "self.w =")
    assert matmul.params == 60 and matmul.is_parametric and matmul.hparams["weights"] == ("w",)
    assert matmul.unique_params == 0  # counted once, at the get_attr node
    assert matmul.in_shapes == [(2, 10), (10, 6)] and matmul.out_shape == (2, 6)


def test_sources_construction_lines_and_forward_lines(skipnet: tuple[SkipNet, ArchGraph]) -> None:
    _, graph = skipnet
    for name in ("stem", "bn", "a", "b", "pool", "fc"):
        assert graph[name].source is not None
        assert (graph[name].source.file, graph[name].source.line) == \
            (__file__, line_of(SkipNet.__init__, f"self.{name} = "))
    assert graph["cat"].source is not None and graph["cat"].source.line == line_of(SkipNet.forward, "torch.cat")


def test_queries(skipnet: tuple[SkipNet, ArchGraph]) -> None:
    model, graph = skipnet
    assert [n.name for n in graph.longest_path()] == ["stem", "a", "b", "fc", "matmul"]
    assert [n.name for n in graph.spatial_layers()] == ["stem", "a", "b", "pool"]
    assert [n.name for n in graph.head()] == ["adaptive_avg_pool2d", "flatten", "dropout", "fc", "dropout_1", "matmul"]
    assert [n.name for n in graph.nearest(graph["stem"], ["conv"])] == ["a"]  # through bn and relu
    assert [n.name for n in graph.nearest(graph["add"], ["conv"], direction="up")] == ["b", "stem"]
    assert [n.name for n in graph.successors("relu", kinds=["conv"])] == ["a"]
    assert [n.name for n in graph.predecessors("add", kinds=["conv"])] == ["b"]
    assert graph.parameter_count() == sum(p.numel() for p in model.parameters())
    assert sum(n.unique_params for n in graph.nodes()) == graph.parameter_count()


class ViewNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        pooled = y.mean((2, 3), keepdim=True)
        flat = y.view(y.size(0), -1)
        return self.fc(flat.reshape(-1, 144)) + pooled.reshape(x.shape[0], -1).sum(1, keepdim=True)


def test_view_with_size_is_a_reshape_fed_by_the_tensor_only() -> None:
    graph = graph_of(ViewNet().eval(), torch.randn(2, 1, 8, 8))
    view = graph["view"]
    assert (view.kind, view.out_shape, view.in_shapes) == ("reshape", (2, 144), [(2, 4, 6, 6)])
    assert [p.name for p in graph.predecessors(view)] == ["conv"]  # not the x.size(0) node
    assert graph["size"].kind == "shape" and graph["reshape"].kind == "reshape"
    assert graph["mean"].hparams == {"dim": (2, 3), "keepdim": True}
    # x.shape[0]: a getattr and a getitem on shapes, connected to x but feeding no tensor edge
    assert [(n.kind, [p.name for p in graph.predecessors(n)]) for n in (graph["getattr_1"], graph["getitem"])] == \
        [("shape", ["x"]), ("shape", ["getattr_1"])]
    assert [p.name for p in graph.predecessors("reshape_1")] == ["mean"]
    assert graph["add"].kind == "add" and len(graph.predecessors("add")) == 2


class TiedLM(nn.Module):
    """Embedding and output projection share one weight; one block is called twice."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(30, 8)
        self.block = nn.Linear(8, 8)
        self.out = nn.Linear(8, 30)
        self.out.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.embed(tokens)
        h = self.block(torch.tanh(self.block(h)))
        return self.out(h)


def test_tied_weights_and_a_module_called_twice() -> None:
    model = TiedLM().eval()
    graph = graph_of(model, torch.randint(0, 30, (2, 5)))
    calls = graph.by_module("block")
    assert [n.name for n in calls] == ["block", "block_1"] and calls[0].module is calls[1].module is model.block
    assert calls[0].params == calls[1].params == 8 * 8 + 8
    assert (calls[0].unique_params, calls[1].unique_params, calls[1].shares_params_with) == (72, 0, "block")
    out = graph.by_module("out")[0]
    assert out.params == 30 * 8 + 30 and out.unique_params == 30 and out.shares_params_with == "embed"
    unique = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    assert graph.parameter_count() == unique == 30 * 8 + 72 + 30
    assert sum(n.unique_params for n in graph.nodes()) == unique
    assert [n.name for n in graph.longest_path()] == ["embed", "block", "block_1", "out"]


def test_nodes_follow_execution_order_not_an_arbitrary_topological_order() -> None:
    graph = graph_of(TiedLM().eval(), torch.randint(0, 30, (2, 5)))
    assert [n.name for n in graph.nodes()] == ["tokens", "embed", "block", "tanh", "block_1", "out", "output"]


def test_walks_agree_with_networkx_on_a_real_branching_graph() -> None:
    """The graph's own walks (it does not import networkx) give what networkx gives on the same edges."""
    import networkx as nx
    import sys
    import torchvision

    graph = graph_of(torchvision.models.googlenet(weights=None, init_weights=False, aux_logits=False).eval(),
                     torch.randn(2, 3, 64, 64))
    assert "networkx" in sys.modules   # (imported above, for the comparison)
    g = graph.g
    assert set(g.nodes) == {n.name for n in graph.nodes()} and g.number_of_edges() > len(graph)
    for node in graph.nodes()[::7]:
        assert graph.ancestors(node) == nx.ancestors(g, node.name)
        assert graph.descendants(node) == nx.descendants(g, node.name)
        assert [p.name for p in graph.predecessors(node)] == list(g.predecessors(node.name))
    first, last = graph.inputs()[0], graph.output()
    branch = next(n for n in graph.nodes() if len(graph.successors(n)) > 1)
    assert graph.has_path(first, last) and not graph.has_path(last, first)
    # one branch point removed: the inception branches still join at the concatenations after it
    assert graph.has_path(first, last, avoiding={branch.name}) == nx.has_path(g.subgraph(set(g) - {branch.name}),
                                                                              first.name, last.name)
    longest = graph.longest_path()
    weights = {n.name: int(n.is_parametric) for n in graph.nodes()}
    assert sum(weights[n.name] for n in longest) == nx.dag_longest_path_length(
        nx.DiGraph((u, v, {"weight": weights[v]}) for u, v in g.edges)) + weights[first.name]


def test_a_lint_does_not_import_networkx() -> None:
    import subprocess
    import sys

    code = ("import sys, torch; from torch import nn; import archlint\n"
            "archlint.check(nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), torch.randn(2, 3, 16, 16))\n"
            "print('networkx' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"

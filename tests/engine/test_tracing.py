"""Tracer order, fallbacks, what each tracer reports as lost, and one-line failure messages."""
from __future__ import annotations

import linecache

import dataclasses
import inspect
import os
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from archlint.load.construction import recording_sites
from archlint.analysis.graph import build_graph
from archlint.trace.result import TraceFailure
from archlint.trace.tracers import trace_model



def shown(path: str) -> str:
    """How failure messages show a file: relative to the working directory when below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def line_of(obj: Any, needle: str) -> int:
    """The line number of the first source line of `obj` containing `needle` (independent of the tracer)."""
    lines, start = inspect.getsourcelines(obj)
    return next(start + i for i, text in enumerate(lines) if needle in text)


# -- models that force each tracer ---------------------------------------------------------------


class Gate(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # data-dependent: fx cannot trace into this block
            return self.conv(x)
        return x


class GatedNet(nn.Module):
    """Only its `gate` block is untraceable: fx-leaves keeps it as one opaque layer."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.gate = Gate()
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.gate(F.relu(self.stem(x)))
        return self.head(x.mean((2, 3)))


class ShapeBranchNet(nn.Module):
    """Branches on its input's size in its own forward: fx (and so fx-leaves) fail, and so does fx with meta
    shapes (numel() is not shape-aware there); torch.export specialises it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() > 1000:
            x = F.max_pool2d(x, 2)
        y = F.relu(self.conv(x))
        return self.fc(y.mean((2, 3)))


class Prediction:
    """A plain result object: torch.export refuses outputs it cannot flatten."""

    def __init__(self, logits: torch.Tensor):
        self.logits = logits


class OpaqueOutputNet(ShapeBranchNet):
    """Shape branch (no fx) + an output type export cannot flatten (no export): only hooks handle it."""

    def forward(self, x: torch.Tensor) -> Prediction:  # type: ignore[override]
        return Prediction(super().forward(x))


class ValueBranchNet(ShapeBranchNet):
    """A branch on tensor values in the root forward: no tracer can know which way it goes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            x = x * 2
        return self.fc(self.conv(x).mean((2, 3)))


def image(channels: int = 3, size: int = 32) -> torch.Tensor:
    return torch.randn(1, channels, size, size, generator=torch.Generator().manual_seed(0))


def tracers_tried(result: Any) -> list[tuple[str, bool]]:
    return [(a.tracer, a.ok) for a in result.attempts]


# -- the fallback chain ------------------------------------------------------------------------------


def test_plain_model_uses_fx_with_nothing_lost() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()).eval()
    result = trace_model(model, (image(),))
    assert (result.tracer, result.lost, tracers_tried(result)) == ("fx", [], [("fx", True)])


def test_data_dependent_submodule_becomes_an_fx_leaf() -> None:
    model = GatedNet().eval()
    result = trace_model(model, (image(),))
    assert tracers_tried(result) == [("fx", False), ("fx-leaves", True)]
    where = f"{shown(__file__)}:{line_of(Gate.forward, 'if x.sum()')}"
    assert result.attempts[0].detail == f"control flow on a tensor value in Gate.forward ({where})"
    assert any(lost.startswith("gate (Gate) is one opaque layer") and "Gate.forward" in lost for lost in result.lost)
    assert any("running it once on a random input" in lost for lost in result.lost)
    graph = build_graph(result.graph_module, model)
    gate = graph.by_module("gate")[0]
    assert (gate.kind, gate.out_shape, gate.params) == ("other", (1, 8, 32, 32), 8 * 8 * 9 + 8)
    assert [n.name for n in graph.predecessors(gate)] == ["relu"]
    assert graph.by_module("head")[0].out_shape == (1, 10)


def test_opaque_leaf_runs_on_a_copy_and_leaves_the_model_alone() -> None:
    model = GatedNet().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    trace_model(model, (image(),))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(rng, torch.get_rng_state())
    assert all(m.training for m in model.modules())  # traced in eval mode, flags restored


def test_shape_branch_in_root_forward_needs_export() -> None:
    model = ShapeBranchNet().eval()
    result = trace_model(model, (image(size=32),))
    assert tracers_tried(result) == [("fx", False), ("fx-leaves", False), ("export", True)]
    assert "only the branch taken" in result.lost[0]
    graph = build_graph(result.graph_module, model)
    kinds = [n.kind for n in graph.nodes()]
    assert kinds == ["input", "pool", "conv", "act", "mean", "linear", "output"]
    conv = graph.by_module("conv")[0]
    assert (conv.type_name, conv.in_shapes, conv.out_shape) == ("Conv2d", [(1, 3, 16, 16)], (1, 8, 16, 16))
    assert conv.params == 3 * 8 * 9 + 8 and conv.hparams["kernel_size"] == (3, 3)
    assert graph["mean"].hparams == {"dim": (2, 3), "keepdim": False}
    assert graph["max_pool2d"].hparams["kernel_size"] == (2, 2)  # aten spells F.max_pool2d(x, 2) as [2, 2]
    # function nodes point at the user's line through export's stack traces
    assert graph["mean"].source is not None and graph["mean"].source.file == __file__
    assert graph["mean"].source.line == line_of(ShapeBranchNet.forward, "y.mean")


def test_output_export_cannot_flatten_needs_hooks() -> None:
    model = OpaqueOutputNet().eval()
    result = trace_model(model, (image(size=32),))
    assert tracers_tried(result) == [("fx", False), ("fx-leaves", False), ("export", False), ("hooks", True)]
    assert "functional operations between modules" in result.lost[0]
    graph = build_graph(result.graph_module, model)
    conv, fc = graph.by_module("conv")[0], graph.by_module("fc")[0]
    # max_pool2d and mean ran between modules: each is one untraced_ops node linking the data flow
    pooled = graph.predecessors(conv)[0]
    assert (pooled.type_name, pooled.out_shape, [p.kind for p in graph.predecessors(pooled)]) == \
        ("untraced_ops", (1, 3, 16, 16), ["input"])
    averaged = graph.predecessors(fc)[0]
    assert averaged.out_shape == (1, 8) and [p.name for p in graph.predecessors(averaged)] == [conv.name]
    assert graph.output() is not None and graph.output().out_shape == (1, 4)
    assert conv.out_shape == (1, 8, 16, 16)


def test_hooks_graph_shows_skip_connections_through_untraced_adds() -> None:
    class Residual(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.b(self.a(x) + x)

    from archlint.trace.fallbacks import hooks_graph

    model = Residual().eval()
    gm, _ = hooks_graph(model, (image(4, 8),))
    graph = build_graph(gm, model)
    merge = graph.predecessors(graph.by_module("b")[0])[0]
    assert sorted(p.name for p in graph.predecessors(merge)) == ["a", "x"]


def test_a_branch_on_tensor_values_is_traced_by_one_real_forward_that_says_which_way_it_went() -> None:
    model = ValueBranchNet().eval()
    result = trace_model(model, (image(),))
    line = line_of(ValueBranchNet.forward, "if x.sum()")
    assert tracers_tried(result) == [("fx", False), ("fx-leaves", False), ("export", False), ("hooks", False),
                                     ("real-forward", True)]
    assert result.attempts[0].detail == f"control flow on a tensor value in ValueBranchNet.forward ({shown(__file__)}:{line})"
    taken = line + 1 if image().sum() > 0 else line + 2
    assert result.lost[0] == (f"the graph comes from one real forward on the example input: at {shown(__file__)}:{line} "
                              f"`if x.sum() > 0:` this input went on to line {taken} "
                              f"`{linecache.getline(__file__, taken).strip()}`; the other branch was not seen")
    graph = build_graph(result.graph_module, model)
    assert [n.module_path for n in graph.nodes("conv")] == ["conv"] and graph.nodes("conv")[0].out_shape == (1, 8, 32, 32)
    assert all(p.device.type == "cpu" for p in model.parameters())   # ran on the model itself, nothing moved


class SelfCastingNet(nn.Module):
    """Its forward casts a constant it keeps to the input's dtype and stores it back (as SwinIR does), then
    branches on a value: fx stops at the branch with a proxy stored on the model."""

    def __init__(self) -> None:
        super().__init__()
        self.mean = torch.tensor([0.4, 0.5, 0.6]).view(1, 3, 1, 1)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.mean = self.mean.type_as(x)
        x = x - self.mean
        if x.sum() > 0:
            x = x * 2
        return self.conv(x)


def test_what_a_failed_tracer_stored_on_the_model_is_undone_before_the_next() -> None:
    model = SelfCastingNet().eval()
    mean = model.mean
    result = trace_model(model, (image(),))
    assert tracers_tried(result)[0] == ("fx", False) and tracers_tried(result)[-1][1]
    assert model.mean is mean   # the lint leaves the model as it was
    graph = build_graph(result.graph_module, model)
    assert graph.nodes("conv")[0].out_shape == (1, 8, 32, 32)


class CodebookNet(nn.Module):
    """A child named `code`, as a VQ model's codebook: fx's GraphModule has a `code` property of its own."""

    def __init__(self) -> None:
        super().__init__()
        self.code = nn.Embedding(16, 8)
        self.head = nn.Linear(8, 4)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.code(ids))


def test_a_child_named_like_the_graph_modules_own_code_traces_with_fx() -> None:
    model = CodebookNet().eval()
    result = trace_model(model, (torch.randint(0, 16, (2, 5)),))
    assert tracers_tried(result) == [("fx", True)] and not result.lost
    graph = build_graph(result.graph_module, model)
    assert [n.module_path for n in graph.nodes("linear")] == ["head"] and graph.nodes("linear")[0].out_shape == (2, 5, 4)
    assert [n.module_path for n in graph.nodes("embedding")] == ["code"]


def test_the_real_forward_stops_at_the_memory_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARCHLINT_MEMORY_BUDGET", str(8 * 32 * 32 * 4))   # less than the conv's output
    with pytest.raises(TraceFailure) as failure:
        trace_model(ValueBranchNet().eval(), (image(),))
    assert failure.value.attempts[-1].tracer == "real-forward"
    assert failure.value.attempts[-1].detail.startswith("RealForwardTooLarge: the real forward passed the memory "
                                                        "budget of 0.0 MiB and was stopped")
    assert "data-dependent control flow" in str(failure.value) or "control flow" in str(failure.value)


def test_a_forward_that_is_simply_broken_is_explained_by_its_first_failure() -> None:
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("not written yet")

    with pytest.raises(TraceFailure) as failure:
        trace_model(Broken().eval(), (torch.randn(2, 4),))
    assert [(a.tracer, a.ok) for a in failure.value.attempts] == [
        ("fx", False), ("fx-leaves", False), ("export", False), ("hooks", False), ("real-forward", False)]
    line = line_of(Broken.forward, "raise ValueError")
    assert failure.value.reason == f"ValueError: not written yet in Broken.forward ({shown(__file__)}:{line})"


def test_a_forward_that_only_raises_is_said_before_any_tracer_runs() -> None:
    class Unwritten(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise NotImplementedError("not written yet")

    with pytest.raises(TraceFailure) as failure:
        trace_model(Unwritten().eval(), (torch.randn(2, 4),))
    line = line_of(Unwritten.forward, "raise NotImplementedError")
    assert failure.value.reason == (f"Unwritten.forward() only raises: `raise NotImplementedError('not written yet')` "
                                    f"at {shown(__file__)}:{line}")


@pytest.mark.parametrize(("model", "shape", "expected"), [
    (nn.Sequential(nn.Conv2d(3, 8, 3)), (1, 1, 16, 16), "0 (Conv2d) expected 3 input channels, got 1"),
    (nn.Sequential(nn.Flatten(), nn.Linear(48, 4)), (1, 3, 4, 5), "1 (Linear) expected 48 input features, got 60"),
    (nn.Sequential(nn.Conv2d(3, 8, 3)), (3, 16), "0 (Conv2d) expected a 4-d input"),
])
def test_input_that_does_not_fit_names_the_layer(model: nn.Module, shape: tuple[int, ...], expected: str) -> None:
    with pytest.raises(TraceFailure) as failure:
        trace_model(model.eval(), (torch.randn(shape),))
    assert expected in str(failure.value) and "\n" not in str(failure.value)
    assert [a.tracer for a in failure.value.attempts] == ["fx"]  # the input is wrong: no point trying others


def test_mismatch_behind_an_untraceable_block_is_still_named() -> None:
    with pytest.raises(TraceFailure) as failure:
        trace_model(GatedNet().eval(), (image(channels=1),))
    assert str(failure.value).startswith("could not trace the model: stem (Conv2d) expected 3 input channels, got 1")


# -- inputs, outputs, dtypes and devices ----------------------------------------------------------------


@dataclasses.dataclass
class Output:
    logits: torch.Tensor
    features: torch.Tensor | None = None


class TwoInputs(nn.Module):
    """Integer tokens + a float mask; returns a dict, a tuple with None, or a dataclass."""

    def __init__(self, wrap: str) -> None:
        super().__init__()
        self.wrap = wrap
        self.embed = nn.Embedding(50, 16)
        self.proj = nn.Linear(16, 5)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> Any:
        h = self.embed(tokens) * mask.unsqueeze(-1)
        logits = self.proj(h.mean(1))
        if self.wrap == "dict":
            return {"logits": logits, "hidden": h}
        if self.wrap == "tuple":
            return logits, None
        return Output(logits, h)


def token_inputs(device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    tokens = torch.randint(0, 50, (2, 7), generator=torch.Generator().manual_seed(0))
    return tokens.to(device), torch.ones(2, 7, device=device)


@pytest.mark.parametrize("wrap", ["dict", "tuple", "dataclass"])
def test_two_inputs_integer_tokens_and_structured_outputs(wrap: str) -> None:
    model = TwoInputs(wrap).eval()
    result = trace_model(model, token_inputs())
    graph = build_graph(result.graph_module, model)
    assert [n.out_shape for n in graph.inputs()] == [(2, 7), (2, 7)]
    assert graph.inputs()[0].dtype == "int64"
    embed = graph.by_module("embed")[0]
    assert (embed.kind, embed.out_shape, embed.params) == ("embedding", (2, 7, 16), 50 * 16)
    assert graph.by_module("proj")[0].out_shape == (2, 5)
    mul = graph.nodes("mul")[0]
    assert sorted(p.name for p in graph.predecessors(mul)) == ["embed", "unsqueeze"]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_weights(dtype: torch.dtype) -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()).to(dtype).eval()
    result = trace_model(model, (image().to(dtype),))
    graph = build_graph(result.graph_module, model)
    conv = graph.nodes("conv")[0]
    assert (result.tracer, conv.out_shape, conv.dtype) == ("fx", (1, 8, 32, 32), str(dtype).replace("torch.", ""))


@pytest.mark.parametrize("tracer", ["fx", "fx-leaves", "export", "hooks"])
def test_models_built_on_the_meta_device_trace_with_shapes(tracer: str) -> None:
    """Weights that live on the meta device (no memory): every tracer still gives shapes."""
    make = {"fx": lambda: nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()), "fx-leaves": GatedNet,
            "export": ShapeBranchNet, "hooks": OpaqueOutputNet}[tracer]
    with torch.device("meta"):
        model = make().eval()
    assert all(p.is_meta for p in model.parameters())
    if tracer == "fx-leaves":
        # an opaque data-dependent block cannot run without weight values: it is said so, in one line
        with pytest.raises(TraceFailure) as failure:
            trace_model(model, (image(),))
        line = line_of(Gate.forward, "if x.sum()")
        assert str(failure.value) == "could not trace the model: data-dependent control flow in Gate.forward " \
            f"({shown(__file__)}:{line}) (tried fx, fx-leaves, export, hooks, real-forward)"
        assert "Gate depends on tensor values and its weights are on the meta device" in failure.value.attempts[1].detail
        assert "weights are on the meta device, so it cannot run for real" in failure.value.attempts[-1].detail
        return
    result = trace_model(model, (image(),))  # a CPU input is moved to meta for a meta model
    assert result.tracer == tracer
    graph = build_graph(result.graph_module, model)
    conv = graph.nodes("conv")[0]
    assert conv.out_shape is not None and conv.out_shape[:2] == (1, 8)
    assert graph.parameter_count() == sum(p.numel() for p in model.parameters())


def test_token_model_on_meta_device() -> None:
    with torch.device("meta"):
        model = TwoInputs("dict").eval()
    graph = build_graph(trace_model(model, token_inputs("meta")).graph_module, model)
    assert graph.by_module("proj")[0].out_shape == (2, 5)


@pytest.mark.parametrize("tracer", ["export", "hooks"])
def test_construction_sites_survive_the_fallback_tracers(tracer: str) -> None:
    from archlint.trace import fallbacks as fallback_tracers

    with recording_sites():
        model = OpaqueOutputNet().eval() if tracer == "hooks" else ShapeBranchNet().eval()
    trace = fallback_tracers.hooks_graph if tracer == "hooks" else fallback_tracers.export_graph
    gm, _ = trace(model, (image(),))
    conv = build_graph(gm, model).by_module("conv")[0]
    line = line_of(ShapeBranchNet.__init__, "self.conv = ")
    assert conv.source is not None and (conv.source.file, conv.source.line) == (__file__, line)


@pytest.mark.parametrize("tracer", ["export", "hooks"])
@pytest.mark.parametrize("wrap", ["dict", "tuple", "dataclass"])
def test_fallback_tracers_take_several_inputs_tokens_and_structured_outputs(tracer: str, wrap: str) -> None:
    from archlint.trace import fallbacks as fallback_tracers

    model = TwoInputs(wrap).eval()
    trace = fallback_tracers.export_graph if tracer == "export" else fallback_tracers.hooks_graph
    if (tracer, wrap) == ("export", "dataclass"):
        with pytest.raises(RuntimeError, match="not a known type"):  # export cannot flatten it: hooks can
            trace(model, token_inputs())
        return
    gm, _ = trace(model, token_inputs())
    graph = build_graph(gm, model)
    assert [(n.out_shape, n.dtype) for n in graph.inputs()] == [((2, 7), "int64"), ((2, 7), "float32")]
    embed, proj = graph.by_module("embed")[0], graph.by_module("proj")[0]
    assert (embed.out_shape, embed.params, proj.out_shape) == ((2, 7, 16), 50 * 16, (2, 5))
    assert graph.output() is not None and graph.output().out_shape == (2, 5)  # logits come first
    assert nx_has_path(graph, graph.inputs()[1].name, proj.name)  # the mask reaches the projection


@pytest.mark.parametrize("tracer", ["export", "hooks"])
def test_fallback_tracers_with_bfloat16_weights(tracer: str) -> None:
    from archlint.trace import fallbacks as fallback_tracers

    model = ShapeBranchNet().to(torch.bfloat16).eval()
    trace = fallback_tracers.export_graph if tracer == "export" else fallback_tracers.hooks_graph
    gm, _ = trace(model, (image().to(torch.bfloat16),))
    conv = build_graph(gm, model).by_module("conv")[0]
    assert (conv.out_shape, conv.dtype) == ((1, 8, 16, 16), "bfloat16")


def nx_has_path(graph: Any, source: str, target: str) -> bool:
    import networkx as nx

    return nx.has_path(graph.g, source, target)


class OptionalMask(nn.Module):
    """An optional `mask=None` the call does not give (timm's gemma4_vit): traced as the None it is, so fx takes
    the branch the call takes (as a proxy, `mask is not None` held and `~mask` ran on None)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            x = x.masked_fill(~mask, 0.0)
        return self.fc(x)


class OptionalFlagMask(OptionalMask):
    """The same with `False` as the default: fx sees a proxy, `mask is not False` holds and `mask.float()` runs on
    False during shape propagation: an error with no tensor input, which is not the example input's fault."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor | bool = False) -> torch.Tensor:
        if mask is not False:
            x = x * mask.float()
        return self.fc(x)


def test_an_optional_argument_the_call_leaves_at_none_is_traced_as_none() -> None:
    result = trace_model(OptionalMask().eval(), (torch.randn(2, 8),))
    assert tracers_tried(result) == [("fx", True)]
    assert not any("masked_fill" in str(node.target) for node in result.graph_module.graph.nodes)


def test_an_error_without_tensor_inputs_is_not_blamed_on_the_input() -> None:
    result = trace_model(OptionalFlagMask().eval(), (torch.randn(2, 8),))
    assert tracers_tried(result)[-1] == ("export", True) and ("fx", False) in tracers_tried(result)


def test_a_forward_that_fails_for_real_is_the_reason_not_the_tracers_limit() -> None:
    """fx stops at the value branch; run for real, the forward fails on the user's own shape bug: that is said,
    with the input it ran on (vit-pytorch's MAE against a newer ViT did this on its README's own input)."""
    class ShapeBug(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > -1e9:
                x = self.fc(x)
            return x + torch.ones(3)

    with pytest.raises(TraceFailure) as failure:
        trace_model(ShapeBug().eval(), (torch.randn(2, 4),))
    assert failure.value.attempts[0].detail.startswith("control flow on a tensor value")
    line = line_of(ShapeBug.forward, "return x + torch.ones(3)")
    assert failure.value.reason.startswith("the forward fails when run on an input of shape [2, 4]: RuntimeError: ")
    assert failure.value.reason.endswith(f"in ShapeBug.forward ({shown(__file__)}:{line})")


class _ShapeGuardedHead(nn.Module):
    """timm's VGG ConvMlp: pools up to the kernel size when the map is smaller (a branch on the shape), then a
    conv whose kernel covers the whole map."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(8, 16, 4)
        self.fc2 = nn.Conv2d(16, 16, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] < 4 or x.shape[-1] < 4:
            x = torch.nn.functional.adaptive_avg_pool2d(x, (4, 4))
        return self.fc2(torch.relu(self.fc1(x)))


def test_control_flow_on_shapes_is_traced_for_the_input_shapes() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), _ShapeGuardedHead()).eval()
    result = trace_model(model, (torch.randn(2, 3, 8, 8),))
    assert result.tracer == "fx"
    assert {n.target for n in result.graph_module.graph.nodes if n.op == "call_module"} == {"0", "1.fc1", "1.fc2"}
    line = line_of(_ShapeGuardedHead.forward, "if x.shape[-2] < 4")
    assert result.lost == [f"control flow in _ShapeGuardedHead.forward ({shown(__file__)}:{line}) was resolved for "
                           "these input shapes: only the branch they take is in the graph"]
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(result.graph_module(x), model(x))
    # a branch on values still cannot be traced that way: fx-leaves keeps that block whole, as before
    assert trace_model(GatedNet().eval(), (image(),)).tracer == "fx-leaves"


class _CachesOnShape(nn.Module):
    """ConViT-like: a buffer recomputed in forward when the input's length changes."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.register_buffer("positions", torch.zeros(1), persistent=False)
        self.note = "set at build"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.positions.shape[0] != x.shape[1]:
            self.positions = torch.arange(x.shape[1], dtype=x.dtype)
            self.note = "set in forward"
        return self.fc(x + self.positions)


def test_tracing_with_shapes_leaves_the_models_attributes_and_buffers_as_they_were() -> None:
    model = _CachesOnShape().eval()
    before = model.positions
    result = trace_model(model, (torch.randn(2, 4),))
    assert result.tracer == "fx" and "was resolved for these input shapes" in result.lost[0]
    assert model.positions is before and model.note == "set at build" and "positions" in dict(model.named_buffers())

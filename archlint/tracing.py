"""From an nn.Module to a shape-annotated fx graph, trying tracers in a fixed order.

Order: plugins (`archlint_trace`), torch.fx symbolic tracing, fx with the failing submodules kept
as leaves, torch.export (non-strict), forward hooks (a module-level graph). Every attempt is
recorded so the report can say which tracer produced the graph and what was lost.
Shapes come from propagating fake (meta-backed) tensors: no real activation is allocated.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch
from torch import fx, nn


@dataclass
class TraceAttempt:
    tracer: str
    ok: bool
    detail: str = ""


@dataclass
class TraceResult:
    """A traced model: `graph_module` nodes carry `meta['val']` fake tensors with shapes/dtypes."""

    graph_module: fx.GraphModule
    tracer: str
    lost: list[str] = field(default_factory=list)   # what this tracer could not see
    attempts: list[TraceAttempt] = field(default_factory=list)


class TraceFailure(Exception):
    """No tracer could handle the model; `attempts` says why each failed."""

    def __init__(self, attempts: list[TraceAttempt]):
        self.attempts = attempts
        reasons = "; ".join(f"{a.tracer}: {a.detail}" for a in attempts)
        super().__init__(f"could not trace the model ({reasons})")


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300]


class _Tracer(fx.Tracer):
    def __init__(self, extra_leaves: frozenset[str] = frozenset()):
        super().__init__()
        self.extra_leaves = extra_leaves
        self.record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return qualname in self.extra_leaves or super().is_leaf_module(m, qualname)


class _LeafOnFailureTracer(_Tracer):
    """Traces through submodules, but keeps one as an opaque leaf when tracing into it fails."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_leaves: list[tuple[str, str]] = []

    def call_module(self, m: nn.Module, forward: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        qualname = self.path_of_module(m)
        if self.is_leaf_module(m, qualname) or qualname in self.extra_leaves:
            return super().call_module(m, forward, args, kwargs)
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception as exc:
            self.failed_leaves.append((qualname, _short(exc)))
            self.extra_leaves = self.extra_leaves | {qualname}
            return self.create_proxy("call_module", qualname, args, kwargs)


def symbolic_trace(model: nn.Module, leaves: frozenset[str] = frozenset()) -> fx.GraphModule:
    tracer = _Tracer(leaves)
    graph = tracer.trace(model)
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def trace_with_leaves(model: nn.Module) -> tuple[fx.GraphModule, list[tuple[str, str]]]:
    tracer = _LeafOnFailureTracer()
    graph = tracer.trace(model)
    graph.eliminate_dead_code()
    if not tracer.failed_leaves:
        raise RuntimeError("no submodule failed, so leaves cannot help")
    return fx.GraphModule(tracer.root, graph, type(model).__name__), tracer.failed_leaves


def fake_mode() -> Any:
    from torch._subclasses.fake_tensor import FakeTensorMode

    return FakeTensorMode(allow_non_fake_inputs=True)


def propagate_shapes(gm: fx.GraphModule, example_inputs: Sequence[Any]) -> None:
    """Annotate every node with `meta['val']` by running fake (meta-backed) tensors through it."""
    from torch.fx.passes.fake_tensor_prop import FakeTensorProp

    mode = fake_mode()
    fake_inputs = [mode.from_tensor(x) if isinstance(x, torch.Tensor) else x for x in example_inputs]
    with torch.no_grad():
        FakeTensorProp(gm, mode).propagate_dont_convert_inputs(*fake_inputs)


def trace_model(model: nn.Module, example_inputs: Sequence[Any],
                plugin_trace: Callable[..., TraceResult | None] | None = None) -> TraceResult:
    """Try every tracer in order; return the first that yields a shape-annotated graph."""
    attempts: list[TraceAttempt] = []
    inputs = tuple(example_inputs)

    if plugin_trace is not None:
        try:
            result = plugin_trace(model=model, example_inputs=inputs)
        except Exception as exc:
            attempts.append(TraceAttempt("plugin", False, _short(exc)))
        else:
            if result is not None:
                attempts.append(TraceAttempt(result.tracer, True))
                result.attempts = attempts + result.attempts
                return result

    def attempt(name: str, build: Callable[[], tuple[fx.GraphModule, list[str]]]) -> TraceResult | None:
        try:
            gm, lost = build()
            if name != "hooks":
                propagate_shapes(gm, inputs)
        except Exception as exc:
            attempts.append(TraceAttempt(name, False, _short(exc)))
            return None
        attempts.append(TraceAttempt(name, True, "; ".join(lost)))
        return TraceResult(gm, name, lost, list(attempts))

    def fx_plain() -> tuple[fx.GraphModule, list[str]]:
        return symbolic_trace(model), []

    def fx_leaves() -> tuple[fx.GraphModule, list[str]]:
        gm, failed = trace_with_leaves(model)
        return gm, [f"{path} kept as one opaque layer ({why})" for path, why in failed]

    from archlint import fallback_tracers

    for name, build in (
        ("fx", fx_plain),
        ("fx-leaves", fx_leaves),
        ("export", lambda: fallback_tracers.export_graph(model, inputs)),
        ("hooks", lambda: fallback_tracers.hooks_graph(model, inputs)),
    ):
        result = attempt(name, build)
        if result is not None:
            return result
    raise TraceFailure(attempts)

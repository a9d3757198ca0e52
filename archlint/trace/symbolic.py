"""The fx tracers: plain symbolic tracing, fx with the failing submodules kept as leaves, and fx with the input
shapes known (for control flow on shapes)."""
from __future__ import annotations

import inspect
import sys
import warnings
from typing import Any, Callable

import torch
from torch import fx, nn

from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.frames import is_user_file
from archlint.mechanics.state import preserved_attributes
from archlint.mechanics.shadowing import registered
from archlint.trace.failures import describe_failure, user_frame
from archlint.trace.shapes import propagate_shapes


def _user_code_frame() -> Any:
    """The innermost frame of the user's code (outside torch and archlint) on the current stack."""
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if is_user_file(filename):
            return frame
        frame = frame.f_back
    return None


class _Tracer(fx.Tracer):
    def __init__(self, extra_leaves: frozenset[str] = frozenset()):
        super().__init__()
        self.extra_leaves = extra_leaves

    def create_node(self, *args: Any, **kwargs: Any) -> fx.Node:
        # fx's own record_stack_traces symbolizes through torch._dynamo (a ~3 s import); one frame is all we need.
        node = super().create_node(*args, **kwargs)
        frame = _user_code_frame()
        if frame is not None:
            node.stack_trace = f'File "{frame.f_code.co_filename}", line {frame.f_lineno}, in {frame.f_code.co_name}\n'
        return node

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return qualname in self.extra_leaves or super().is_leaf_module(m, qualname)


class _LeafOnFailureTracer(_Tracer):
    """Traces through submodules, but keeps one as an opaque leaf when tracing into it fails."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_leaves: list[tuple[str, str]] = []

    def call_module(self, m: nn.Module, forward: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        qualname = self.path_of_module(m)
        if self.is_leaf_module(m, qualname):
            return super().call_module(m, forward, args, kwargs)
        stack, calls = self.module_stack.copy(), dict(self.num_calls)
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception as exc:
            # fx leaves its module stack half-pushed when a forward raises; put it back.
            self.module_stack.clear()
            self.module_stack.update(stack)
            self.num_calls = calls
            self.failed_leaves.append((qualname, describe_failure(exc)))
            self.extra_leaves = self.extra_leaves | {qualname}
            return super().call_module(m, forward, args, kwargs)


def constant_arguments(model: nn.Module, inputs: tuple[Any, ...]) -> dict[str, None | bool]:
    """The forward's parameters given None (a skipped optional argument before one that is given) or a flag
    (`CUDA=False`), or not given at all with None as their default (`mask=None` after the inputs): traced as the
    constant they are, so `if mask is not None:` and `if CUDA:` take the branch the call takes."""
    try:
        parameters = [p for p in inspect.signature(model.forward).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return {}
    skipped = {p.name: x for p, x in zip(parameters, inputs) if x is None or isinstance(x, bool)}
    return {**skipped, **{p.name: None for p in parameters[len(inputs):] if p.default is None}}


def symbolic_trace(model: nn.Module, leaves: frozenset[str] = frozenset(),
                   inputs: tuple[Any, ...] = ()) -> fx.GraphModule:
    tracer = _Tracer(leaves)
    graph = tracer.trace(model, concrete_args=constant_arguments(model, inputs) or None)
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def trace_with_leaves(model: nn.Module, inputs: tuple[Any, ...] = ()) -> tuple[fx.GraphModule, list[tuple[str, str]]]:
    tracer = _LeafOnFailureTracer()
    graph = tracer.trace(model, concrete_args=constant_arguments(model, inputs) or None)
    if not tracer.failed_leaves:
        raise RuntimeError("no submodule failed, so leaves cannot help")
    gm = fx.GraphModule(tracer.root, graph, type(model).__name__)
    gm.graph.eliminate_dead_code()  # nodes recorded inside a submodule before it failed
    gm.recompile()
    return gm, tracer.failed_leaves


def shape_specialized_trace(model: nn.Module, inputs: tuple[Any, ...]) -> fx.GraphModule:
    """A symbolic trace whose proxies carry meta tensors of the inputs' shapes, so control flow on shapes
    (`if x.shape[-2] < 7:` in timm's VGG head) takes the branch these inputs take. Only for forwards whose
    positional parameters are all given tensors."""
    parameters = [p for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(inputs) > len(parameters) or not all(isinstance(x, torch.Tensor) for x in inputs):
        raise RuntimeError("shape-specialised tracing needs tensor inputs for positional parameters")
    meta = {p.name: x.to("meta") for p, x in zip(parameters, inputs)}
    from torch.fx.experimental.meta_tracer import (
        MetaTracer,  # only when plain fx stopped at control flow
    )

    class _ShapeTracer(_Tracer, MetaTracer):
        """fx with the input shapes known."""

    with warnings.catch_warnings(), preserved_attributes(model):
        warnings.simplefilter("ignore")   # it warns for every op whose meta output it cannot compute
        tracer = _ShapeTracer()
        graph = tracer.trace(model, meta_args=meta)
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def fx_plain(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[fx.GraphModule, list[str]]:
    try:
        gm, lost = symbolic_trace(model, inputs=inputs), []
    except fx.proxy.TraceError as exc:
        if Cause.CONTROL_FLOW not in causes(exc):
            raise
        try:   # the branch may be on a shape, not a value: trace again with the shapes known
            gm = shape_specialized_trace(model, inputs)
        except Exception:
            raise exc from None
        where = user_frame(exc)
        at = f" in {where[0]} ({where[1]})" if where else ""
        lost = [f"control flow{at} was resolved for these input shapes: only the branch they take is in the graph"]
    propagate_shapes(gm, inputs)
    return gm, lost


def _meta_of(value: Any) -> Any:
    """A meta tensor of the shape and dtype a propagated node value has (None when it is not one tensor)."""
    return torch.empty(tuple(value.shape), dtype=value.dtype, device="meta") if isinstance(value, torch.Tensor) else None


def _inline(gm: fx.GraphModule, node: fx.Node, sub: fx.GraphModule) -> None:
    """Put the graph of a submodule's own trace (`sub`) in place of its `call_module` node in `gm`: its layers,
    weights and enclosing modules get the submodule's path in front."""
    prefix = str(node.target)
    placeholders = [n for n in sub.graph.nodes if n.op == "placeholder"]
    env: dict[fx.Node, Any] = dict(zip(placeholders, node.args))
    result: Any = None
    with gm.graph.inserting_before(node):
        for inner in sub.graph.nodes:
            if inner.op == "placeholder":
                continue
            if inner.op == "output":
                result = fx.node.map_arg(inner.args[0], lambda a: env[a])
                continue
            copied = gm.graph.node_copy(inner, lambda a: env[a])
            if inner.op in ("call_module", "get_attr"):
                copied.target = f"{prefix}.{inner.target}"
            stack = inner.meta.get("nn_module_stack", {})
            outer = node.meta.get("nn_module_stack", {})
            copied.meta["nn_module_stack"] = {**outer, prefix: (prefix, type(registered(gm, prefix))),
                                              **{f"{prefix}.{k}": (f"{prefix}.{path}", kind)
                                                 for k, (path, kind) in stack.items()}}
            env[inner] = copied
    if not isinstance(result, fx.Node):
        raise RuntimeError("the submodule returns more than one value")
    node.replace_all_uses_with(result)
    gm.graph.erase_node(node)
    gm.recompile()


def _trace_leaves_with_shapes(gm: fx.GraphModule, model: nn.Module, failed: list[tuple[str, str]]) -> list[str]:
    """Trace again, with the shapes of their inputs known, the leaves that stopped at control flow (a branch on a
    shape, `if x.shape[-2] < 7:`), and put their graphs in place of the opaque calls; returns the leaves resolved."""
    resolved = []
    for node in list(gm.graph.nodes):
        why = dict(failed).get(str(node.target)) if node.op == "call_module" else None
        if why is None or node.kwargs or not node.args:
            continue
        inputs = tuple(_meta_of(a.meta.get("val")) if isinstance(a, fx.Node) else None for a in node.args)
        if any(x is None for x in inputs):
            continue
        try:
            sub = shape_specialized_trace(model.get_submodule(str(node.target)), inputs)
            _inline(gm, node, sub)
        except Exception:   # the leaf stays opaque, as fx-leaves made it
            continue
        resolved.append(str(node.target))
    return resolved


def fx_leaves(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[fx.GraphModule, list[str]]:
    gm, failed = trace_with_leaves(model, inputs)
    opaque = frozenset(path for path, _ in failed)
    ran = propagate_shapes(gm, inputs, opaque)
    resolved = _trace_leaves_with_shapes(gm, model, [(p, w) for p, w in failed if p not in ran])
    if resolved:
        ran = propagate_shapes(gm, inputs, opaque - set(resolved))
    lost = [f"{path} ({type(model.get_submodule(path)).__name__}) is one opaque layer: {why}"
            for path, why in failed if path not in resolved]
    lost += [f"control flow in {path} ({type(model.get_submodule(path)).__name__}) was resolved for the shapes of its "
             f"inputs: only the branch they take is in the graph" for path in resolved]
    lost += [f"{path}: its output shape comes from running it once on a random input of the right shape "
             "(the branch taken may differ on real data)" for path in ran]
    return gm, lost

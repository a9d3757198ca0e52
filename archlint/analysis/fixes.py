"""A fix, run: its change applied to a copy of the model, verified, and the fixed copy measured the same way.

`fixed_model(model, inputs, change)` copies the model (large weights shared, read only), applies the change, and
verifies the copy: it runs the example input in eval mode and gives outputs of the same shapes and dtypes as the
model as it is. The verified copy is traced and gets its own `ModelAnalyses`, so every number measured on it (params,
MACs, receptive fields, the probe...) comes from the code that measured the model as it is. A change that does not
apply or does not verify raises MeasurementUnavailable saying why.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import fx, nn

from archlint.analysis.graph import ArchGraph, build_graph
from archlint.analysis.measurement import MeasurementUnavailable
from archlint.analysis.rewrite import (
    Span, add_identity_shortcuts, call_as_module, copy_sharing_large_weights, own_parameter,
)
from archlint.mechanics.errors import describe_exception
from archlint.mechanics.state import eval_mode, preserved_rng
from archlint.mechanics.tensors import tensors_in
from archlint.plugin.changes import (
    AddShortcuts, AppendModule, Change, Combined, FollowMode, Reinitialise, RemoveModule, ReplaceModule,
)
from archlint.trace.shapes import propagate_shapes
from archlint.trace.tracers import trace_model

VERIFIED = "after: the same measure on the fixed copy of the model, verified"
# verified: the change applies to a copy, the copy traces on the example input, and its outputs have the shapes and
# dtypes of the model's


@dataclass
class FixedModel:
    """The verified fixed copy: the model, its traced graph, and the graph's own analyses (see ModelAnalyses)."""

    model: nn.Module
    graph: ArchGraph
    analyses: Any     # ModelAnalyses of the fixed copy (typed in shared.py, which imports this module)


def apply_change(model_copy: nn.Module, change: Change) -> None:
    """Change `model_copy` (a copy the caller owns) as `change` says."""
    if isinstance(change, ReplaceModule):
        old = model_copy.get_submodule(change.path)
        new = eval(change.expression, {"nn": nn, "torch": torch})   # archlint's own description, not user input
        if not isinstance(new, nn.Module):
            raise TypeError(f"`{change.expression}` is not a module")
        reference = next(iter(old.parameters()), None)
        reference = reference if reference is not None else next(iter(old.buffers()), None)
        if reference is not None:
            new = new.to(device=reference.device, dtype=reference.dtype if reference.is_floating_point() else None)
        new.train(old.training)
        _set_submodule(model_copy, change.path, new)
    elif isinstance(change, AppendModule):
        old = model_copy.get_submodule(change.path)
        added = eval(change.expression, {"nn": nn, "torch": torch})
        _set_submodule(model_copy, change.path, nn.Sequential(old, added))
    elif isinstance(change, Combined):
        for part in change.changes:
            apply_change(model_copy, part)
    elif isinstance(change, RemoveModule):
        parent_path, _, name = change.path.rpartition(".")
        delattr(model_copy.get_submodule(parent_path) if parent_path else model_copy, name)
    elif isinstance(change, Reinitialise):
        weight = own_parameter(model_copy, change.parameter)
        options = eval(f"dict({change.arguments})", {"nn": nn})
        with torch.no_grad():
            getattr(nn.init, change.function)(weight, **options)
    else:
        raise TypeError(f"unknown change {change!r}")


def _set_submodule(model: nn.Module, path: str, module: nn.Module) -> None:
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    if isinstance(parent, (nn.Sequential, nn.ModuleList)) and name.isdigit():
        parent[int(name)] = module
    else:
        setattr(parent, name, module)


def output_signature(gm: fx.GraphModule) -> list[tuple[tuple[int, ...], torch.dtype]] | None:
    """Shapes and dtypes of a traced graph's outputs, from its shape propagation (the example input, run on meta or
    fake tensors: no weight is read); None when the propagation left them unknown."""
    output = next((n for n in gm.graph.nodes if n.op == "output"), None)
    if output is None:
        return None
    values: list[Any] = []
    fx.node.map_arg(output.args[0], lambda n: values.append(n.meta.get("val", n.meta.get("tensor_meta"))))
    signature = [(tuple(int(s) for s in v.shape), v.dtype) for v in values if hasattr(v, "shape") and hasattr(v, "dtype")]
    return signature if len(signature) == len(values) else None


def _outputs(model: nn.Module, inputs: Sequence[Any]) -> list[tuple[tuple[int, ...], torch.dtype]]:
    with eval_mode(model), torch.no_grad():
        return [(tuple(t.shape), t.dtype) for t in tensors_in(model(*inputs))]


def fixed_model(model: nn.Module, example_inputs: Sequence[Any], change: Change,
                expected: list[tuple[tuple[int, ...], torch.dtype]] | None, analyses_of: Any,
                graph_module: fx.GraphModule | None = None, tracer: str = "") -> FixedModel:
    """The verified fixed copy of `model`. Its trace runs the example input through it (shape propagation on meta or
    fake tensors, as for the model); its outputs must have the shapes and dtypes of `expected`, the model's own (when
    unknown, one eval forward of each is compared). `analyses_of(model, graph)` makes the copy's analyses. A rewrite of
    the traced graph (`AddShortcuts`, `FollowMode`) is made on a copy of `graph_module`, the model's trace. The copy
    is traced with the model's own `tracer` first (a fix changes a layer, not what the tracers can follow)."""
    if isinstance(change, (AddShortcuts, FollowMode)):
        return _rewritten(model, example_inputs, change, expected, analyses_of, graph_module)
    try:
        with preserved_rng(0):
            copy_of = copy_sharing_large_weights(model)
            apply_change(copy_of, change)
    except Exception as exc:
        raise MeasurementUnavailable(f"the fix does not apply to a copy of the model ({describe_exception(exc)})") \
            from None
    try:
        traced = trace_model(copy_of, example_inputs, first=tracer)
    except Exception as exc:
        raise MeasurementUnavailable(f"the fixed copy does not run the example input ({describe_exception(exc)})") \
            from None
    after = output_signature(traced.graph_module)
    if expected is None or after is None:
        try:
            with preserved_rng(0):
                expected, after = _outputs(model, example_inputs), _outputs(copy_of, example_inputs)
        except Exception as exc:
            raise MeasurementUnavailable(f"the fixed copy does not run the example input ({describe_exception(exc)})") \
                from None
    if expected != after:
        shown = ", ".join(f"{list(s)} {str(d).removeprefix('torch.')}" for s, d in after)
        raise MeasurementUnavailable(f"the fixed copy's outputs ({shown}) differ from the model's in shape or dtype")
    graph = build_graph(traced.graph_module, copy_of)
    return FixedModel(copy_of, graph, analyses_of(copy_of, graph))


def rewrite_graph(graph_module: fx.GraphModule, change: AddShortcuts | FollowMode) -> fx.GraphModule:
    """A rewritten copy of the traced graph as the change says."""
    if isinstance(change, AddShortcuts):
        return add_identity_shortcuts(graph_module, [Span(first, last) for first, last in change.spans])
    module = eval(change.expression, {"nn": nn, "torch": torch})   # archlint's own description, not user input
    return call_as_module(graph_module, change.node, module)


def _rewritten(model: nn.Module, example_inputs: Sequence[Any], change: AddShortcuts | FollowMode,
               expected: list[tuple[tuple[int, ...], torch.dtype]] | None, analyses_of: Any,
               graph_module: fx.GraphModule | None) -> FixedModel:
    """The traced graph's copy with the shortcuts added, shapes propagated again: it keeps the trace's node names, so
    a measurement at a node of the model reads the same node of the fix."""
    if graph_module is None:
        raise MeasurementUnavailable("the fix rewrites the traced graph, and there is none")
    try:
        with preserved_rng(0):
            rewritten = rewrite_graph(graph_module, change)
            propagate_shapes(rewritten, example_inputs)
    except Exception as exc:
        raise MeasurementUnavailable(f"the fixed copy does not run the example input ({describe_exception(exc)})") \
            from None
    after = output_signature(rewritten)
    if expected is not None and after is not None and expected != after:
        raise MeasurementUnavailable("the fixed copy's outputs differ from the model's in shape or dtype")
    graph = build_graph(rewritten, rewritten)
    return FixedModel(rewritten, graph, analyses_of(rewritten, graph))


__all__ = ["FixedModel", "VERIFIED", "apply_change", "fixed_model", "output_signature", "rewrite_graph"]

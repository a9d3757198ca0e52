"""What-if rewrites of a traced model: fx transformations of a copy whose result runs.

A rule measures "what would change if ..." by rewriting a deep copy of the traced GraphModule,
never the user's model. Each function returns a new GraphModule (recompiled and linted) with
the same parameter names as the original, so a probe of the rewrite can be compared layer by
layer with a probe of the original.
"""
from __future__ import annotations

import copy
import operator
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import fx

from archlint.mechanics.tensors import WEIGHT_COPY_LIMIT_BYTES


class RewriteError(Exception):
    """The rewrite cannot be applied to this graph (the message says why)."""


@dataclass(frozen=True)
class Span:
    """A stretch of the graph to wrap with an identity shortcut: input of `first` is added to `last`'s output."""

    first: str      # name of the first node inside the span (its first argument is the span's input)
    last: str       # name of the last node inside the span (its output gets the shortcut added)


# Above this many bytes of weights a copy shares the weight storage instead of cloning it (the same
# limit as the runner's TensorWatch, which reports any write through a shared weight).
SHARE_WEIGHTS_ABOVE_BYTES = WEIGHT_COPY_LIMIT_BYTES


def copy_sharing_large_weights(module: torch.nn.Module, requires_grad: bool | None = None) -> torch.nn.Module:
    """A deep copy whose parameters are new Parameter objects; their storage is shared when the weights are large.

    Measurements on a copy read the weights but never write them, so cloning VGG16's 528 MB of weights
    for every what-if run only costs time and memory. The copy's parameters are still its own objects:
    their `.grad` and `requires_grad` (set to `requires_grad` when given) never reach the original.
    Buffers (BatchNorm statistics, updated by train-mode passes) are always cloned. A forward that writes
    its own weights in place would write through a shared weight; the runner's TensorWatch reports that.
    """
    params = {id(p): p for p in module.parameters()}
    weight_bytes = sum(p.numel() * p.element_size() for p in params.values())
    memo: dict[int, object] = {}
    if weight_bytes > SHARE_WEIGHTS_ABOVE_BYTES:
        memo = {i: torch.nn.Parameter(p.detach(), requires_grad=p.requires_grad) for i, p in params.items()}
    clone = copy.deepcopy(module, memo)
    if requires_grad is not None:
        for p in clone.parameters():
            p.requires_grad_(requires_grad)
    return clone


def own_parameter(model: torch.nn.Module, name: str) -> torch.nn.Parameter:
    """Give parameter `name` of `model` (a copy, perhaps sharing the user's storage) a cloned storage of its own,
    wherever it is registered (tied weights included), and return it: the one to write in a what-if.

    A new Parameter object, not `weight.data = ...`: that would keep the version counter shared with the
    user's weight, and the write that follows would look like a write into the user's model.
    """
    weight = model.get_parameter(name)
    own = torch.nn.Parameter(weight.detach().clone(), requires_grad=weight.requires_grad)
    for module in model.modules():
        for key, param in module._parameters.items():
            if param is weight:
                module._parameters[key] = own
    return own


def copy_graph_module(gm: fx.GraphModule, requires_grad: bool | None = None) -> fx.GraphModule:
    """A copy (modules and parameter objects included) with every in-place op made out-of-place.

    A shortcut keeps an earlier tensor alive; an in-place activation later in the graph must not
    overwrite it. Large weights are shared with `gm`, not cloned (see copy_sharing_large_weights).
    """
    clone = copy_sharing_large_weights(gm, requires_grad)
    for module in clone.modules():
        if getattr(module, "inplace", False) is True:
            module.inplace = False
    for node in clone.graph.nodes:
        if node.kwargs.get("inplace") is True:
            node.kwargs = {**node.kwargs, "inplace": False}
    clone.recompile()
    return clone


def train_functional_norms(gm: fx.GraphModule) -> fx.GraphModule:
    """Make functional batch norms of `gm` (in place) normalise with batch statistics, as in training.

    The graph is traced in eval mode, so a module that calls F.batch_norm(x, ..., self.training)
    itself (timm's BatchNormAct2d) is recorded with training=False: a train-mode probe of that graph
    would normalise with the running statistics of an untrained model (mean 0, variance 1), i.e. not
    at all, and measure the signal of a network without its norms. Call on a copy.
    """
    changed = False
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target is not torch.nn.functional.batch_norm:
            continue
        if len(node.args) > 5 and node.args[5] is False:
            node.args = (*node.args[:5], True, *node.args[6:])
            changed = True
        elif node.kwargs.get("training") is False:
            node.kwargs = {**node.kwargs, "training": True}
            changed = True
    if changed:
        gm.recompile()
    return gm


def _data_input(node: fx.Node) -> fx.Node:
    first = node.args[0] if node.args else next(iter(node.kwargs.values()), None)
    if not isinstance(first, fx.Node):
        raise RewriteError(f"node {node.name} has no tensor input to branch a shortcut from")
    return first


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    value = node.meta.get("val", node.meta.get("tensor_meta"))
    shape = getattr(value, "shape", None)
    return tuple(int(s) for s in shape) if shape is not None else None


def add_identity_shortcuts(gm: fx.GraphModule, spans: Sequence[Span]) -> fx.GraphModule:
    """A copy of `gm` where, for each span, `last`'s output becomes `last(...) + input_of(first)`.

    Every later user of `last` reads the sum, so the span becomes a residual block y = F(x) + x.
    Spans must preserve the shape (checked from the traced shapes when they are known).
    """
    clone = copy_graph_module(gm)
    nodes = {n.name: n for n in clone.graph.nodes}
    for span in spans:
        if span.first not in nodes or span.last not in nodes:
            raise RewriteError(f"span {span.first}..{span.last} is not in the graph")
        start, end = _data_input(nodes[span.first]), nodes[span.last]
        before, after = _shape(start), _shape(end)
        if before is not None and after is not None and before != after:
            raise RewriteError(f"span {span.first}..{span.last} changes the shape {before} -> {after}")
        users = list(end.users)
        with clone.graph.inserting_after(end):
            shortcut = clone.graph.call_function(operator.add, (end, start))
        shortcut.meta = dict(end.meta)
        for user in users:
            user.replace_input_with(end, shortcut)
    clone.graph.lint()
    clone.recompile()
    return clone


def call_as_module(gm: fx.GraphModule, node_name: str, module: torch.nn.Module) -> fx.GraphModule:
    """A copy of `gm` where the call at `node_name` becomes a call of `module` (added to the copy) on the call's first
    input: a functional call replaced by the module that does the same and follows the mode (F.dropout -> nn.Dropout)."""
    clone = copy_graph_module(gm)
    nodes = {n.name: n for n in clone.graph.nodes}
    if node_name not in nodes:
        raise RewriteError(f"node {node_name} is not in the graph")
    old = nodes[node_name]
    target = f"archlint_{node_name}"
    clone.add_submodule(target, module)
    with clone.graph.inserting_after(old):
        new = clone.graph.call_module(target, (_data_input(old),))
    new.meta = dict(old.meta)
    old.replace_all_uses_with(new)
    clone.graph.erase_node(old)
    clone.graph.lint()
    clone.recompile()
    return clone


def check_runs(gm: fx.GraphModule, example_inputs: Sequence[object]) -> None:
    """Run the rewritten module once (eval mode, no grad) so a broken rewrite fails here, with its reason."""
    was_training = gm.training
    gm.eval()
    try:
        with torch.no_grad():
            gm(*example_inputs)
    except Exception as exc:
        raise RewriteError(f"the rewritten graph does not run: {type(exc).__name__}: {exc}") from None
    finally:
        gm.train(was_training)


def owning_module(node: fx.Node) -> fx.GraphModule:
    gm = node.graph.owning_module
    if not isinstance(gm, fx.GraphModule):
        raise RewriteError("the traced graph has no GraphModule to rewrite")
    return gm


__all__ = ["Span", "RewriteError", "add_identity_shortcuts", "call_as_module", "copy_graph_module", "copy_sharing_large_weights",
           "check_runs", "own_parameter", "owning_module"]

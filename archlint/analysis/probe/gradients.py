"""The backward signal δ at chosen nodes of a traced fx graph (`graph_gradients`), run like the probe."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch
from torch import fx

from archlint.analysis.measurement import MeasurementUnavailable
from archlint.analysis.probe.passes import (
    describe_method,
    forward_backward,
    probe_inputs,
)
from archlint.analysis.probe.results import DEFAULT_MAX_BATCH, DEFAULT_SEED, failed
from archlint.analysis.rewrite import copy_graph_module, train_functional_norms
from archlint.mechanics.state import preserved_rng
from archlint.mechanics.tensors import without_fx_traceback


@dataclass
class NodeGradient:
    """The backward signal at one fx node's output in the train pass."""

    node: str
    grad_rms: float | None      # RMS over all elements (whole probe batch) of ∂L/∂output; None: no gradient
    value_rms: float            # RMS of the output itself
    numel: int


class _GradientTap(fx.Interpreter):
    """Runs a GraphModule node by node and keeps the gradient of the chosen nodes' outputs."""

    def __init__(self, gm: fx.GraphModule, names: set[str]):
        super().__init__(gm)
        without_fx_traceback(self)
        self.names = names
        self.values: dict[str, tuple[float, int]] = {}
        self.grads: dict[str, torch.Tensor] = {}

    def run_node(self, n: fx.Node) -> Any:
        out = super().run_node(n)
        if n.name in self.names and isinstance(out, torch.Tensor) and out.is_floating_point() and out.numel():
            # value read now: a later in-place op may overwrite it (the hook still sees this version's gradient)
            self.values[n.name] = (float(out.detach().double().pow(2).mean().sqrt()), out.numel())
            if out.requires_grad:
                out.register_hook(lambda grad, name=n.name: self.grads.__setitem__(name, grad.detach()))
        return out


def _rms(t: torch.Tensor) -> float:
    return float(t.double().pow(2).mean().sqrt())


def graph_gradients(gm: fx.GraphModule, example_inputs: Sequence[Any], names: Sequence[str], *,
                    batch: int | None = DEFAULT_MAX_BATCH, seed: int = DEFAULT_SEED, max_side: int | None = None,
                    copy_module: bool = True) -> dict[str, NodeGradient]:
    """RMS of ∂L/∂output (per element) at the named nodes: train mode, same inputs/seed/loss as `run_probe`.

    Runs a copy of `gm` (in-place ops made out-of-place) unless `copy_module=False`. Raises
    MeasurementUnavailable with the reason when the graph cannot be run this way.
    """

    if any(p.is_meta for p in gm.parameters()):
        raise MeasurementUnavailable("the probe needs real weights; the model is on the meta device")
    inputs, _ = probe_inputs(example_inputs, batch, max_side)
    # δ = ∂L/∂(node output) does not depend on which leaves require grad. With a floating-point input
    # the backward starts from the input and skips every weight gradient (about half of a conv net's
    # backward); integer inputs (token ids) leave the weights as the only leaves.
    from_input = any(isinstance(x, torch.Tensor) and x.is_floating_point() for x in inputs)
    if from_input:
        inputs = tuple(x.detach().requires_grad_() if isinstance(x, torch.Tensor) and x.is_floating_point() else x
                       for x in inputs)
    with preserved_rng():
        try:
            subject = copy_graph_module(gm, requires_grad=False if from_input else None) if copy_module else gm
        except Exception as exc:
            raise failed("copy of the traced graph", exc) from None
        subject.train()
        train_functional_norms(subject)
        for p in subject.parameters():
            p.grad = None
            if from_input:
                p.requires_grad_(False)
        tap = _GradientTap(subject, set(names))
        forward_backward(lambda: tap.run(*inputs), seed, " of the traced graph")
    return {name: NodeGradient(name, _rms(tap.grads[name]) if name in tap.grads else None, *tap.values[name])
            for name in names if name in tap.values}


def describe_graph_method(batch: int, seed: int, max_side: int | None = None) -> str:
    return (describe_method(batch, seed, max_side).replace("probe on a copy", "probe on a copy of the traced fx graph")
            + "; δ = RMS per element of ∂L/∂(layer output after its norm/activation)")

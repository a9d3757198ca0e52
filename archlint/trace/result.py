"""What tracing produces: the graph and its attempts (`TraceResult`), and the two ways it fails."""
from __future__ import annotations

from dataclasses import dataclass, field

from torch import fx

from archlint.plugin.results import TargetCause

TRACER_ORDER = ("fx", "fx-leaves", "export", "hooks", "real-forward")


MODULE_CALLS_ONLY = frozenset({"hooks", "real-forward"})   # graphs without the operations between modules


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
    """No tracer could handle the model: the message is one line naming the reason; `attempts` has each."""

    def __init__(self, attempts: list[TraceAttempt], reason: str | None = None,
                 cause: TargetCause = TargetCause.UNTRACEABLE, needs_process_group: bool = False):
        self.attempts = attempts
        self.needs_process_group = needs_process_group   # the forward calls torch.distributed with no group set up
        self.cause = cause      # NO_INPUT_FITS when the example input does not fit a layer
        self.reason = reason or next((a.detail for a in attempts if a.detail), "unknown reason")
        tried = ", ".join(a.tracer for a in attempts)
        super().__init__(f"could not trace the model: {self.reason}" + (f" (tried {tried})" if tried else ""))


class InputMismatch(Exception):
    """The example input does not fit a layer (shape, channels, dtype): no other tracer can help."""

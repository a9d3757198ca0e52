"""Running a model for shapes only.

Three ways, cheapest first:

- `on_real_copies(model)`: the model's real forward on copies of its buffers (and of its weights up to
  WEIGHT_COPY_LIMIT_BYTES), for a CPU model with small inputs while nothing has imported torch._dynamo
  yet. On torch 2.14 the meta kernels of batch norm, layer norm, group norm, GELU, cat, mean, division
  and more are Python references whose first call imports torch._dynamo: 1.5-3 s, more than a small
  model's whole lint. A real forward of such a model takes milliseconds. It runs under a budget (time,
  and bytes per operation's output: `RunBudget`, which also guards the probe's memory) and stops with
  `OverBudget` past it; the caller then uses meta.
- `on_meta(model)`: the model's own modules with every parameter and buffer swapped for a meta tensor
  of the same shape for the duration of a block, and factory functions (`torch.zeros(n)`) defaulting to
  the meta device. Meta kernels compute shapes only; nothing is converted or cached per call.
- `fake_mode()`: a FakeTensorMode. It handles more (CPU tensors kept as plain attributes, ops without a
  meta kernel, values read back as Python numbers for the recovery in tracers.py), at several times the
  cost per operation (batch norm is decomposed, every real tensor is converted on first use).

Callers try them in this order and fall back when one fails, so a model the cheaper ways cannot run is
judged exactly as before.
"""
from __future__ import annotations

import contextlib
import sys
import time
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import fx, nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.no_gpu import cuda_made_on
from archlint.mechanics.state import preserved_attributes, preserved_rng
from archlint.mechanics.tensors import (
    WEIGHT_COPY_LIMIT_BYTES,
    memory_budget_text,
    memory_size,
    resident_bytes,
)


def fake_mode() -> Any:
    from torch._subclasses.fake_tensor import FakeTensorMode

    # real (meta or CPU) parameters may enter the mode: they are converted on first use
    return FakeTensorMode(allow_non_fake_inputs=True)


def _meta_like(tensor: torch.Tensor) -> torch.Tensor:
    meta = torch.empty_like(tensor, device="meta")
    return nn.Parameter(meta, requires_grad=tensor.requires_grad) if isinstance(tensor, nn.Parameter) else meta


@contextlib.contextmanager
def on_meta(model: nn.Module) -> Iterator[None]:
    """Within the block, `model`'s parameters and buffers are meta tensors and new tensors default to meta.

    Everything is restored afterwards, including attributes the forward assigns (a cache, a mask buffer).
    """
    from torch.nn.utils.stateless import _reparametrize_module

    state = {name: _meta_like(t) for name, t in [*model.named_parameters(), *model.named_buffers()]}
    with preserved_attributes(model), _reparametrize_module(model, state, tie_weights=True), torch.device("meta"), \
            cuda_made_on("meta"):
        yield


# -- real tensors ----------------------------------------------------------------------------------

# The real run must cost less than the torch._dynamo import it avoids (1.5-3 s of one core): past this much
# CPU time (the process's, all threads: 0.75 s of wall time on two idle cores) it stops and the shapes come
# from meta tensors. CPU time, not wall time: with two lints sharing two cores, a 0.1 s run took up to 1 s of
# wall time and was stopped, and the import it then paid stretches the same way.
REAL_RUN_SECONDS = 1.5
# One operation's output above this stops the run too: the probe checks its memory before it runs,
# this run cannot (its shapes are what it is computing).
REAL_RUN_MAX_OUTPUT_BYTES = 256 << 20
# Inputs above this many elements (two 3×512×512 images) are left to meta tensors.
REAL_RUN_MAX_INPUT_ELEMENTS = 2 * 3 * 512 * 512


class OverBudget(BaseException):
    """The real run passed its budget. A BaseException, so that a forward's own `except Exception` lets it by."""


def as_meta(value: Any) -> Any:
    """`value` with every tensor in it (tuples, named tuples, lists, dicts) replaced by a meta tensor of its
    shape and dtype."""
    return fx.node.map_aggregate(value, lambda v: torch.empty_like(v, device="meta")
                                 if isinstance(v, torch.Tensor) and not v.is_meta else v)


def real_run_cheaper(model: nn.Module, inputs: Sequence[Any]) -> bool:
    """Whether the real forward is the cheaper way to this model's shapes: torch._dynamo is not imported yet
    (once it is, meta tensors cost little), and the model and its inputs are real CPU tensors, inputs small."""
    return "torch._dynamo" not in sys.modules and real_run_possible(model, inputs)


def real_run_possible(model: nn.Module, inputs: Sequence[Any]) -> bool:
    """Whether a real forward may be run under the real-run budget: the model and its inputs are real CPU
    tensors, the inputs small."""
    given = [t for t in tree_leaves(list(inputs)) if isinstance(t, torch.Tensor)]
    held = [*model.parameters(), *model.buffers()]
    if any(t.device.type != "cpu" for t in [*given, *held]):
        return False
    return sum(t.numel() for t in given) <= REAL_RUN_MAX_INPUT_ELEMENTS


def imitation_failed(exc: BaseException) -> bool:
    """The failure is fake or meta tensors' own: the code read a value they do not hold (`.numpy()`, `.item()`)."""
    return Cause.DATA_DEPENDENT in causes(exc)


class RunBudget(TorchFunctionMode):
    """Stops a run (OverBudget), once, after the first operation that takes it past one of its limits: CPU time
    (`seconds`; also as soon as `progress()`, the share of the model's layers run so far, projects the whole
    run past it), one output's size (`max_output_bytes`), or growth of the process's resident memory since
    the start (`max_growth_bytes`: what a run keeps for its backward, inside layers the estimate from
    traced shapes could not see). Limits left None are not checked.

    Only after an operation that returned a tensor: `torch.no_grad().__exit__` calls `_set_grad_enabled`
    through this mode too, and stopping there would leave gradients off for the rest of the process.
    """

    # resident memory is read again once the outputs since the last reading add up to this (not per operation)
    MEMORY_READ_EVERY_BYTES = 64 << 20

    def __init__(self, seconds: float | None = None, max_output_bytes: int | None = None,
                 progress: Callable[[], float] | None = None, max_growth_bytes: int | None = None):
        super().__init__()
        self.start = time.process_time()
        self.seconds = seconds
        self.max_output_bytes = max_output_bytes
        self.progress = progress
        self.max_growth_bytes = max_growth_bytes
        self.resident_at_start = resident_bytes() if max_growth_bytes is not None else None
        self.output_bytes_unread = 0
        self.stopped = False

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        out = func(*args, **(kwargs or {}))
        if self.stopped:
            return out      # the stop is on its way out: context managers leaving must run
        tensors = [t for t in tree_leaves(out) if isinstance(t, torch.Tensor)]
        if not tensors:
            return out
        reason = self._passed_limit(tensors)
        if reason:
            self.stopped = True
            raise OverBudget(reason)
        return out

    def _passed_limit(self, tensors: list[torch.Tensor]) -> str | None:
        if self.seconds is not None and self._will_pass_deadline():
            return "the real forward would take longer than its budget"
        sizes = [t.numel() * t.element_size() for t in tensors if not t.is_meta]
        if self.max_output_bytes is not None and any(size > self.max_output_bytes for size in sizes):
            return "an operation's output passed the real forward's memory budget"
        if self.resident_at_start is not None and self.max_growth_bytes is not None:
            self.output_bytes_unread += sum(sizes)
            if self.output_bytes_unread >= self.MEMORY_READ_EVERY_BYTES:
                self.output_bytes_unread = 0
                grown = (resident_bytes() or 0) - self.resident_at_start
                if grown > self.max_growth_bytes:
                    return (f"the process's memory grew by {memory_size(grown)} during it, past the budget of "
                            f"{memory_budget_text(self.max_growth_bytes)}")
        return None

    def _will_pass_deadline(self) -> bool:
        assert self.seconds is not None
        elapsed = time.process_time() - self.start
        if elapsed > self.seconds:
            return True
        # not before a fifth of the budget: the first convolution of a process sets up its kernels (~0.1-0.2 s)
        if self.progress is None or elapsed < self.seconds / 5:
            return False
        return elapsed > self.seconds * max(self.progress(), 1e-3)


@contextlib.contextmanager
def _layer_progress(model: nn.Module) -> Iterator[Callable[[], float]]:
    """Within the block, a function giving the share of `model`'s leaf modules that have run."""
    leaves = {id(m) for m in model.modules() if next(m.children(), None) is None}
    ran: set[int] = set()

    def note(module: nn.Module, args: Any, output: Any) -> None:
        if id(module) in leaves:
            ran.add(id(module))

    handle = nn.modules.module.register_module_forward_hook(note)
    try:
        yield lambda: len(ran) / len(leaves) if leaves else 0.0
    finally:
        handle.remove()


def _copies(model: nn.Module) -> dict[str, torch.Tensor]:
    """What the real run uses for the model's tensors: a copy of every buffer (a forward may write its
    running statistics, counters, caches) and of the weights if they are small; larger weights are the
    same storage, detached, only read by an eval forward under no_grad."""
    weights = dict(model.named_parameters())
    copy_weights = sum(p.numel() * p.element_size() for p in weights.values()) <= WEIGHT_COPY_LIMIT_BYTES
    state = {name: nn.Parameter(p.detach().clone() if copy_weights else p.detach(), requires_grad=p.requires_grad)
             for name, p in weights.items()}
    state.update((name, b.detach().clone()) for name, b in model.named_buffers())
    return state


@contextlib.contextmanager
def on_real_copies(model: nn.Module, seconds: float = REAL_RUN_SECONDS,
                   max_output_bytes: int = REAL_RUN_MAX_OUTPUT_BYTES) -> Iterator[None]:
    """Within the block, `model` runs on copies of its tensors (`_copies`), under the real-run budget;
    attributes the forward assigns and the RNG states are restored afterwards. Raises OverBudget."""
    from torch.nn.utils.stateless import _reparametrize_module

    with preserved_attributes(model), preserved_rng(), _layer_progress(model) as progress, \
            _reparametrize_module(model, _copies(model), tie_weights=True), _one_thread(), \
            RunBudget(seconds, max_output_bytes, progress):
        yield


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """torch's operations on one thread while the budget counts CPU time: on a shared machine its worker threads
    spin waiting for cores, CPU time the forward never used (a 0.5 s forward counted past 1.5 s beside two busy
    processes). The user's setting is restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


__all__ = ["fake_mode", "on_meta", "on_real_copies", "real_run_cheaper", "real_run_possible", "imitation_failed", "as_meta",
           "OverBudget", "RunBudget"]

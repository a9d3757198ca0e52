"""The probe's passes on a copy of the model: the train forward and backward, the pass without dropout, two eval
forwards; the probe batch, its loss and the method sentence."""
from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from archlint.analysis.measurement import MeasurementUnavailable
from archlint.analysis.probe.nonfinite import first_non_finite_layer, non_finite_share
from archlint.analysis.probe.recorder import Recorder, install_hooks, recorded_layers
from archlint.analysis.probe.results import (
    DEFAULT_MAX_BATCH,
    DEFAULT_SEED,
    BatchNormInput,
    NonFiniteValues,
    ProbeFailed,
    ProbeResult,
    failed,
)
from archlint.analysis.rewrite import copy_sharing_large_weights
from archlint.mechanics.state import preserved_rng
from archlint.mechanics.tensors import memory_budget, tensors_in
from archlint.trace.fake import OverBudget, RunBudget

if TYPE_CHECKING:
    pass


def probe_inputs(example_inputs: Sequence[Any], batch: int | None, max_side: int | None) -> tuple[tuple[Any, ...], int]:
    """The first `batch` samples of the example inputs (optionally resized so no spatial side exceeds max_side)."""
    tensors = [x for x in example_inputs if isinstance(x, torch.Tensor) and x.dim() > 0]
    if not tensors:
        raise MeasurementUnavailable("the example inputs contain no tensor with a batch dimension")
    full = int(tensors[0].shape[0])
    size = full if batch is None else max(1, min(int(batch), full))
    chosen = []
    for x in example_inputs:
        if isinstance(x, torch.Tensor) and x.dim() > 0 and x.shape[0] == full:
            x = x[:size]
            if max_side is not None and x.is_floating_point() and x.dim() >= 3 and max(x.shape[2:]) > max_side:
                scale = max_side / max(x.shape[2:])
                target = [max(1, int(s * scale)) for s in x.shape[2:]]
                x = F.interpolate(x, size=target, mode="nearest")
        chosen.append(x)
    return tuple(chosen), size


def readout_loss(outputs: list[torch.Tensor], seed: int) -> torch.Tensor | None:
    """Σ (output ⊙ R), R ~ N(0, 1) fixed by `seed` per output: every output unit gets gradient R."""
    generator = torch.Generator().manual_seed(seed)
    total: torch.Tensor | None = None
    for out in outputs:
        if not (out.is_floating_point() and out.requires_grad):
            continue
        weights = torch.randn(out.shape, generator=generator, dtype=torch.float32).to(out.dtype)
        term = (out * weights).sum()
        total = term if total is None else total + term
    return total


def describe_method(batch: int, seed: int, max_side: int | None = None) -> str:
    resized = f", inputs resized to ≤{max_side} px per side" if max_side else ""
    return (f"probe on a copy: train-mode forward + backward, first {batch} sample(s) of the example inputs"
            f"{resized}, seed {seed}, loss = Σ output ⊙ R with R ~ N(0,1) fixed (seed {seed})")


def _forward(model: nn.Module, inputs: tuple[Any, ...], recorder: Recorder) -> Any:
    with recorder:
        return model(*inputs)


def run_probe(model: nn.Module, example_inputs: Sequence[Any], *, batch: int | None = DEFAULT_MAX_BATCH,
              seed: int = DEFAULT_SEED, max_side: int | None = None, copy_model: bool = True,
              gradients_only: bool = False) -> ProbeResult:
    """Measure `model` with one train-mode forward/backward and two eval passes (see the module docs).

    `batch` bounds the samples used (never more than the example batch); `max_side` optionally
    shrinks spatial inputs. The model is copied (weights above 64 MiB shared, never written: rewrite.
    copy_sharing_large_weights) unless `copy_model=False` (for copies the caller
    owns, e.g. a what-if rewrite). `gradients_only=True` runs only the train-mode forward/backward
    (no eval passes, no pass without dropout: `eval_outputs` and `outputs_without_dropout` stay empty),
    for a what-if copy whose weight gradients are all a rule compares. Raises MeasurementUnavailable
    with the reason if the model cannot be run this way.
    """
    if any(p.is_meta for p in model.parameters()):
        raise MeasurementUnavailable("the probe needs real weights; the model is on the meta device")

    inputs, size = probe_inputs(example_inputs, batch, max_side)
    with preserved_rng():
        subject = copy_sharing_large_weights(model) if copy_model else model
        # a caller-owned copy is measured as it is now: its eval passes cannot wait (the train passes change it)
        result = _measure(subject, inputs, size, seed, max_side, gradients_only,
                          eval_now=not copy_model and not gradients_only)
    if copy_model and not gradients_only:
        # on demand, on a fresh copy of the model as the user has it (the train passes changed this copy's BN stats)
        result.run_eval_passes = lambda: _eval_on_copy(model, inputs, seed)
    return result


def _eval_on_copy(model: nn.Module, inputs: tuple[Any, ...],
                  seed: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:

    with preserved_rng():
        return _eval_twice(copy_sharing_large_weights(model), inputs, seed)


def _memory_guard() -> contextlib.AbstractContextManager[Any]:
    """Stops a train forward whose kept activations grow past the memory budget. The probe checks its estimate
    from the traced shapes before it runs; inside an opaque layer (a block fx could not trace) the estimate
    cannot see what the layer keeps: an attention over 3,136 tokens keeps 0.9 GB per matrix per layer, and a
    probe of such a model took all 24 GiB of the machine before the kernel killed it."""
    budget = memory_budget()
    return contextlib.nullcontext() if budget is None else RunBudget(max_growth_bytes=budget)


def forward_backward(forward: Callable[[], Any], seed: int, what: str,
                      model: nn.Module | None = None) -> list[torch.Tensor]:
    """One train-mode forward (seeded), the readout loss Σ out ⊙ R, one backward; failures name the stage.
    Returns the forward's output tensors. Non-finite outputs or gradients raise NonFiniteValues."""
    torch.manual_seed(seed)
    try:
        with _memory_guard(), torch.enable_grad():
            outputs = list(tensors_in(forward()))
    except OverBudget as exc:
        raise ProbeFailed(f"the probe's train-mode forward pass{what} was stopped: {exc}; pass a smaller "
                          f"--input-shape") from None
    except Exception as exc:
        raise failed(f"train-mode forward pass{what}", exc) from None
    share = non_finite_share(outputs)
    if share > 0:
        torch.manual_seed(seed)
        raise NonFiniteValues(f"outputs{what}", share,
                              first_non_finite_layer(model, forward) if model is not None else None)
    loss = readout_loss(outputs, seed)
    if loss is None:
        raise MeasurementUnavailable("the model's output has no floating-point tensor that requires grad")
    try:
        loss.backward()
    except Exception as exc:
        raise failed(f"backward pass{what}", exc) from None
    if model is not None:
        share = non_finite_share(p.grad for p in model.parameters() if p.grad is not None)
        if share > 0:
            raise NonFiniteValues(f"weight gradients{what}", share, None)
    return outputs


def _measure(subject: nn.Module, inputs: tuple[Any, ...], size: int, seed: int, max_side: int | None,
             gradients_only: bool = False, eval_now: bool = False) -> ProbeResult:
    # Eval passes (on a caller-owned copy only) run first, on the model as the user has it (before the train passes
    # update BN statistics); they leave no state behind (no grad, eval mode, RNG reseeded below).
    eval_outputs = _eval_twice(subject, inputs, seed) if eval_now else None
    for p in subject.parameters():
        p.grad = None
    subject.train()
    bn_inputs: list[BatchNormInput] = []
    recorder = Recorder(subject)
    handles = install_hooks(subject, recorder, bn_inputs)
    try:
        outputs = forward_backward(lambda: _forward(subject, inputs, recorder), seed, "", subject)
        grads = {n: (None if p.grad is None else p.grad.detach())
                 for n, p in subject.named_parameters() if p.requires_grad}
        layers = recorded_layers(subject, recorder)
    finally:
        for handle in handles:
            handle.remove()
    run_without_dropout = None
    if recorder.dropouts and not gradients_only:
        # later, on this copy as the train pass left it: its weights are unchanged (no optimiser step) and
        # train-mode BatchNorm normalises with batch statistics, so the pass sees what it would see now
        def run_without_dropout() -> list[torch.Tensor] | None:
            with preserved_rng():
                return _run_without_dropout(subject, inputs, seed, bn_inputs)
    return ProbeResult(
        batch=size, seed=seed, input_shapes=[tuple(x.shape) for x in inputs if isinstance(x, torch.Tensor)],
        method=describe_method(size, seed, max_side), grads=grads, layers=layers,
        activations=recorder.activations, dropouts=recorder.dropouts, train_outputs=[o.detach() for o in outputs],
        run_without_dropout=run_without_dropout, _batchnorm_inputs=bn_inputs, _eval_outputs=eval_outputs,
        output_signals=recorder.output_signals,
    )


def _run_without_dropout(subject: nn.Module, inputs: tuple[Any, ...], seed: int,
                         with_dropout: list[BatchNormInput]) -> list[torch.Tensor] | None:
    """Train mode again, same seed, every dropout an identity: fills each BatchNorm record's input variance
    without dropout; returns the outputs."""
    subject.train()
    without_dropout: list[BatchNormInput] = []
    quiet = Recorder(subject, drop_dropout=True)
    handles = install_hooks(subject, quiet, without_dropout)
    try:
        torch.manual_seed(seed)
        with torch.no_grad():
            outputs = list(tensors_in(_forward(subject, inputs, quiet)))
    except Exception:
        outputs = None
    finally:
        for handle in handles:
            handle.remove()
    variances = {(b.module_path, b.call): b.variance_with_dropout for b in without_dropout}
    for record in with_dropout:
        record.variance_without_dropout = variances.get((record.module_path, record.call))
    return None if outputs is None else [o.detach() for o in outputs]


def _eval_twice(subject: nn.Module, inputs: tuple[Any, ...], seed: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    subject.eval()
    torch.manual_seed(seed)
    try:
        with torch.no_grad():
            first = [o.detach().clone() for o in list(tensors_in(subject(*inputs)))]
            second = [o.detach().clone() for o in list(tensors_in(subject(*inputs)))]
    except Exception:
        return [], []  # an eval-only failure leaves the train measurements usable; rules see no eval outputs
    return first, second

"""What the probe measured, as types rules read: per-layer gradients, activation statistics, dropout calls,
BatchNorm inputs, eval outputs; and the two ways a probe fails (`ProbeFailed`, `NonFiniteValues`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from archlint.analysis.measurement import MeasurementUnavailable
from archlint.mechanics.errors import user_error_text

DEFAULT_SEED = 0


DEFAULT_MAX_BATCH = 32


SATURATION_BOUND = 5.0


class LayerGradient:
    """One parametric layer in depth order and the gradient its weight received.

    `layer`: module path, or the Parameter's name for a user weight used by matmul; `kind`: conv,
    conv_transpose, linear, embedding, attention, matmul; `weight`: the parameter the norm is taken of.
    The norm is taken when first read, in float64: on a 100M-value gradient (VGG's first classifier
    layer) that takes half a second, and rules read the norms of two layers.
    """

    def __init__(self, layer: str, kind: str, weight: str, grad_norm: float | None = None, *,
                 grad: torch.Tensor | None = None):
        self.layer, self.kind, self.weight = layer, kind, weight
        self._norm, self._grad = grad_norm, grad

    @property
    def grad_norm(self) -> float | None:
        """L2 norm of the weight's gradient; None: no gradient reached it."""
        if self._norm is None and self._grad is not None:
            self._norm = float(self._grad.double().norm())
            self._grad = None
        return self._norm

    @property
    def reached(self) -> bool:
        """A nonzero (or non-finite) gradient reached the weight: `bool(grad_norm)` without taking the norm."""
        if self._grad is None:
            return bool(self._norm)
        values = self._grad.reshape(-1)
        # a nonzero value is nearly always found in a sample: the first values, then values spread over the whole
        # tensor (VGG's first classifier layer: the rows of units that dropout or ReLU zeroed are all zero, and the
        # full scan of its 100M values took 0.2 s); only a gradient that is zero everywhere is read to the end
        spread = values[::values.numel() // 4096 + 1]   # + 1: a step of whole rows would read one column only
        return bool(values[:4096].any()) or bool(spread.any()) or bool(values.any())

    def __repr__(self) -> str:
        return f"LayerGradient({self.layer!r}, {self.kind!r}, {self.weight!r}, grad_norm={self.grad_norm!r})"


@dataclass
class ActivationStats:
    """Per-unit statistics of one call of an activation (module or function) in the train pass."""

    module_path: str                # the activation module, or the module whose forward called the function
    function: str                   # module class name (ReLU) or function name (relu)
    call: int                       # occurrence of (module_path, function) in the forward, from 0
    family: str                     # relu, sigmoid or tanh
    units: int
    observations: int               # samples × positions seen per unit
    zero_fraction: torch.Tensor     # per unit: share of observations where the output is exactly 0
    saturated_share: float          # share of pre-activations with |x| > SATURATION_BOUND
    is_module: bool = True


@dataclass
class BatchNormInput:
    """Per-channel variance of one BatchNorm call's input, with dropout active and with it off."""

    module_path: str
    call: int
    variance_with_dropout: torch.Tensor
    variance_without_dropout: torch.Tensor | None = None


@dataclass
class DropoutCall:
    """One dropout call of the train pass."""

    module_path: str                # the dropout module, or the module whose forward called F.dropout
    function: str
    call: int
    in_shape: tuple[int, ...]
    neighbour_correlation: float | None   # Pearson r of neighbouring positions on the last axis (maps only)
    is_module: bool = True


@dataclass
class OutputSignal:
    """The backward signal at one leaf module's output in the train pass (a module called once)."""

    grad_rms: float | None      # RMS over all elements of ∂L/∂output; None: no gradient reached it
    value_rms: float            # RMS of the output itself
    numel: int


@dataclass
class ProbeResult:
    batch: int
    seed: int
    input_shapes: list[tuple[int, ...]]
    method: str
    grads: dict[str, torch.Tensor | None]                 # parameter name -> gradient (None: none reached it)
    layers: list[LayerGradient]                           # parametric layers in depth (execution) order
    activations: list[ActivationStats]
    dropouts: list[DropoutCall]
    train_outputs: list[torch.Tensor]
    # the train pass without dropout, run when a rule first reads `outputs_without_dropout` or a
    # BatchNorm's `variance_without_dropout` (dropout-placement, for a dropout it found on the logits or
    # before a BatchNorm); it fills `_batchnorm_inputs[*].variance_without_dropout`
    run_without_dropout: Callable[[], list[torch.Tensor] | None] | None = field(default=None, repr=False)
    # the two eval passes, run when a rule first reads `eval_outputs` (only dropout-placement does, and only
    # for a dropout it found active in eval mode): most lints never pay those two forward passes
    run_eval_passes: Callable[[], tuple[list[torch.Tensor], list[torch.Tensor]]] | None = field(default=None,
                                                                                                 repr=False)
    notes: list[str] = field(default_factory=list)
    # leaf module path -> the backward signal at its output (modules called more than once are left out)
    output_signals: dict[str, OutputSignal] = field(default_factory=dict)
    _batchnorm_inputs: list[BatchNormInput] = field(default_factory=list, repr=False)
    _outputs_without_dropout: list[torch.Tensor] | None = field(default=None, repr=False)
    _eval_outputs: tuple[list[torch.Tensor], list[torch.Tensor]] | None = field(default=None, repr=False)

    @property
    def outputs_without_dropout(self) -> list[torch.Tensor] | None:
        """The train pass's outputs with every dropout an identity (None: the model has no dropout, or it failed)."""
        if self.run_without_dropout is not None:
            run, self.run_without_dropout = self.run_without_dropout, None   # drops the references to the copy
            self._outputs_without_dropout = run()
        return self._outputs_without_dropout

    @property
    def batchnorm_inputs(self) -> list[BatchNormInput]:
        """Every BatchNorm call that ran after a dropout, with its input variance with and without dropout."""
        self.outputs_without_dropout   # noqa: B018 (fills the variances without dropout)
        return self._batchnorm_inputs

    @property
    def eval_outputs(self) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Two eval-mode passes on the same input, on a copy as the user has it (([], []): failed or not run)."""
        if self._eval_outputs is None:
            self._eval_outputs = self.run_eval_passes() if self.run_eval_passes else ([], [])
            self.run_eval_passes = None   # drop the references to the model and inputs
        return self._eval_outputs

    def layer(self, path: str) -> LayerGradient | None:
        return next((layer for layer in self.layers if layer.layer == path), None)

    def activation(self, module_path: str, function: str | None = None, call: int = 0) -> ActivationStats | None:
        for stats in self.activations:
            if stats.module_path == module_path and stats.call == call and \
                    (function is None or stats.function == function):
                return stats
        return None

    def eval_difference(self) -> float:
        """Largest |difference| between the two eval-mode passes over all outputs (0.0: identical)."""
        first, second = self.eval_outputs
        diffs = [float((a.double() - b.double()).abs().max()) for a, b in zip(first, second) if a.numel()]
        return max(diffs, default=0.0)

    def grad_norm_rows(self) -> list[dict[str, Any]]:
        """Rows of the report's gradient-norm plot, depth order."""
        return [{"layer": layer.layer, "kind": layer.kind, "grad_norm": layer.grad_norm} for layer in self.layers]


class ProbeFailed(MeasurementUnavailable):
    """The probe could not run on this model: its own code failed under the probe (a training-mode branch, a
    backward through NumPy...) or the probe would not fit in memory. The report says so, once, in a note."""


def failed(stage: str, exc: BaseException) -> MeasurementUnavailable:
    return ProbeFailed(f"the probe's {stage} failed ({user_error_text(exc)[:300]})")


class NonFiniteValues(MeasurementUnavailable):
    """The probe met NaN or infinite values: every measurement that depends on them is withheld, for this reason.

    `layer` is the module path of the first layer (execution order) whose output was not finite, when known;
    `stage` says where they were seen ("outputs", "loss", "gradients"); `share` the non-finite share there.
    """

    def __init__(self, stage: str, share: float, layer: str | None):
        self.stage, self.share, self.layer = stage, share, layer
        where = f", first produced by `{layer}`" if layer else ""
        super().__init__(f"the probe's {stage} are not finite ({share:.1%} NaN or infinite{where})")


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0 or math.isnan(denominator):
        return None
    return numerator / denominator

"""The shared forward/backward probe: one measured pass over a copy of the model, for every rule.

`run_probe(model, example_inputs)` deep-copies the model (the user's weights, train/eval flags,
`requires_grad` flags and `.grad` tensors are never touched; the global RNG states are restored)
and, with a fixed seed, on at most `batch` samples of the example inputs:

1. runs a train-mode forward pass, recording
   * the order in which parametric layers first use their weights (depth = execution order),
   * per-unit statistics of ReLU/ReLU6/sigmoid/tanh activations (modules and functional calls),
   * the per-channel variance of every BatchNorm input,
   * the input of every dropout (shape, correlation of neighbouring positions);
2. backpropagates the loss `L = Σ_outputs Σ (output ⊙ R)` where R is a fixed standard-normal tensor
   of the output's shape (seed `seed`). The loss is linear in the outputs on purpose: every output
   unit gets a nonzero gradient (R) whatever its value, so a zero-initialised head still passes a
   gradient to its own weights, and gradient ratios do not depend on the output scale. Tuples,
   lists, dicts, named tuples and dataclasses of tensors are all read; non-float outputs are skipped;
3. runs the same train-mode forward again with every dropout replaced by the identity (only
   when the model has dropout, and only when a rule reads `outputs_without_dropout` or
   `batchnorm_inputs`), so the BatchNorm input variance and the outputs with and without dropout
   can be compared with everything else unchanged;
0. two eval-mode forward passes on the same input, on a fresh copy of the model as the user has it
   (outputs must be equal unless something random is still active in eval mode). They run only when
   a rule reads `ProbeResult.eval_outputs`.

Rules get the result through `ctx.probe()` (cached per model). `ProbeResult.method` is the
sentence every probe-based `Metric.method` starts with: batch, seed and loss.

Backward signal at graph nodes (`graph_gradients`, cached per model by `ModelAnalyses.graph_gradients`):
the same train-mode forward/backward (same batch, seed and loss) run on a copy of the traced fx
graph, recording for chosen nodes the RMS of ∂L/∂(node output) per element and the RMS of the
output itself. A layer's weight gradient is δ·a summed over positions: it mixes the backward
signal δ with the size of the activations a, so it grows wherever activations grow (e.g. along
an unnormalised residual stream) even when no more signal arrives. δ alone is what "the gradient
reaching a layer" means; `layer_output(graph, node)` picks the node whose δ is read for a layer
(the layer followed by its norm and activation ops).
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.overrides import TorchFunctionMode

from archlint.analysis.graph import PARAMETRIC_KINDS, module_kind
from archlint.analysis.rewrite import copy_graph_module, copy_sharing_large_weights, train_functional_norms
from archlint.mechanics.errors import user_error_text
from archlint.mechanics.state import preserved_rng
from archlint.mechanics.tensors import memory_budget, tensors_in, without_fx_traceback
from archlint.plugin.context import MeasurementUnavailable
from archlint.trace.fake import OverBudget, RunBudget

if TYPE_CHECKING:
    from archlint.analysis.graph import ArchGraph, LayerNode

DEFAULT_SEED = 0
DEFAULT_MAX_BATCH = 32
SATURATION_BOUND = 5.0

# Functions whose Parameter arguments are the weights of a parametric layer (not norm scales etc.).
_WEIGHT_FUNCTIONS = frozenset({
    "linear", "bilinear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "embedding", "embedding_bag", "matmul", "__matmul__", "__rmatmul__", "mm", "bmm",
    "einsum", "addmm", "baddbmm", "multi_head_attention_forward", "tensordot",
})
_ACTIVATION_FAMILIES = {"relu": "relu", "relu_": "relu", "relu6": "relu", "sigmoid": "sigmoid",
                        "sigmoid_": "sigmoid", "tanh": "tanh", "tanh_": "tanh"}
_ACTIVATION_MODULES: tuple[tuple[type, str], ...] = (
    (nn.ReLU, "relu"), (nn.ReLU6, "relu"), (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh"),
)
_DROPOUT_FUNCTIONS = frozenset({"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                                "feature_alpha_dropout", "feature_dropout"})


# -- what the probe returns ------------------------------------------------------------------------

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


# -- inputs and outputs ------------------------------------------------------------------------------

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


# -- recording during the forward pass -------------------------------------------------------------

def _unit_axis(x: torch.Tensor, after_conv: bool) -> int:
    """Channels for conv maps (N, C, ...), features for vectors (N, F) and tokens (N, L, D)."""
    if x.dim() <= 2:
        return x.dim() - 1
    if x.dim() == 3 and not after_conv:
        return 2
    return 1


def _activation_stats(path: str, function: str, call: int, family: str, pre: torch.Tensor,
                      out: torch.Tensor, after_conv: bool, is_module: bool) -> ActivationStats | None:
    if out.dim() == 0 or not out.is_floating_point():
        return None
    axis = _unit_axis(out, after_conv)
    if out.shape[axis] == 0:
        return None
    samples = out.numel() // out.shape[axis]
    others = [d for d in range(out.dim()) if d != axis]
    # per-unit share of zeros, reduced where the units lie (no copy of the activation to move them last)
    zeros = (out.detach() == 0).float()
    zero_share = zeros.mean(dim=others) if others else zeros
    saturated = float((pre.detach().abs() > SATURATION_BOUND).float().mean()) if family != "relu" else 0.0
    return ActivationStats(path, function, call, family, int(out.shape[axis]), samples, zero_share, saturated, is_module)


def _channel_variance(x: torch.Tensor) -> torch.Tensor:
    per_channel = x.detach().float().movedim(1, -1).reshape(-1, x.shape[1]) if x.dim() > 1 else x.detach().float()[:, None]
    return per_channel.var(dim=0, unbiased=False)


def _neighbour_correlation(x: torch.Tensor) -> float | None:
    """Pearson r between each position and its right neighbour on the last axis (conv maps only)."""
    if x.dim() < 3 or x.shape[-1] < 2 or not x.is_floating_point():
        return None
    left, right = x.detach().double()[..., :-1].reshape(-1), x.detach().double()[..., 1:].reshape(-1)
    left, right = left - left.mean(), right - right.mean()
    denominator = float(left.norm() * right.norm())
    return float((left @ right) / denominator) if denominator > 0 else None


def _function_name(func: Callable[..., Any]) -> str:
    return getattr(func, "__name__", str(func)).split(".")[-1]


def _flat_args(args: Any) -> Iterator[Any]:
    if isinstance(args, (list, tuple)):
        for a in args:
            yield from _flat_args(a)
    elif isinstance(args, dict):
        for a in args.values():
            yield from _flat_args(a)
    else:
        yield args


class _Recorder(TorchFunctionMode):
    """Sees every torch function call of the forward pass: weight use order, functional activations/dropout."""

    def __init__(self, model: nn.Module, drop_dropout: bool = False):
        super().__init__()
        self.param_names = {id(p): n for n, p in model.named_parameters()}
        self.modules = dict(model.named_modules())
        self.drop_dropout = drop_dropout
        self.stack: list[str] = [""]
        self.inside_leaf = 0                     # >0 inside an activation/dropout module (recorded by hooks)
        self.after_conv = False
        self.weight_order: list[tuple[str, str]] = []   # (parameter name, function) in first-use order
        self.seen: set[str] = set()
        self.calls: dict[tuple[str, str], int] = {}
        self.activations: list[ActivationStats] = []
        self.dropouts: list[DropoutCall] = []
        self.pre_activations: dict[int, torch.Tensor] = {}

    def occurrence(self, path: str, function: str) -> int:
        key = (path, function)
        self.calls[key] = self.calls.get(key, 0) + 1
        return self.calls[key] - 1

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        name = _function_name(func)
        if name in _WEIGHT_FUNCTIONS:
            self._record_weights(name, args, kwargs)
        if name in _DROPOUT_FUNCTIONS and args and isinstance(args[0], torch.Tensor):
            if not self.inside_leaf:
                self.dropouts.append(DropoutCall(self.stack[-1], name, self.occurrence(self.stack[-1], name),
                                                 tuple(args[0].shape), _neighbour_correlation(args[0]), False))
            if self.drop_dropout:
                return args[0]
        family = _ACTIVATION_FAMILIES.get(name)
        if family and not self.inside_leaf and args and isinstance(args[0], torch.Tensor):
            pre = args[0].detach().clone() if family != "relu" else args[0]
            out = func(*args, **kwargs)
            if isinstance(out, torch.Tensor):
                path = self.stack[-1]
                stats = _activation_stats(path, name, self.occurrence(path, name), family, pre, out,
                                          self.after_conv, False)
                if stats is not None:
                    self.activations.append(stats)
            return out
        return func(*args, **kwargs)

    def _record_weights(self, name: str, args: Any, kwargs: Any) -> None:
        self.after_conv = name.startswith("conv")
        for value in _flat_args((args, kwargs)):
            if isinstance(value, nn.Parameter) and id(value) in self.param_names:
                pname = self.param_names[id(value)]
                if pname not in self.seen:
                    self.seen.add(pname)
                    self.weight_order.append((pname, name))


def _module_kind(module: nn.Module | None) -> str | None:
    """The graph's kind for a parametric layer module (conv, linear, ...), else None."""
    if module is None:
        return None
    kind = module_kind(module)
    return kind if kind in PARAMETRIC_KINDS else None


def _install_hooks(model: nn.Module, recorder: _Recorder, bn_inputs: list[BatchNormInput]) -> list[Any]:
    handles = []
    bn_calls: dict[str, int] = {}
    for path, module in model.named_modules():
        family = next((f for cls, f in _ACTIVATION_MODULES if isinstance(module, cls)), None)
        is_dropout = isinstance(module, nn.modules.dropout._DropoutNd)

        def pre_hook(mod: nn.Module, inputs: tuple, path: str = path, family: str | None = family,
                     is_dropout: bool = is_dropout) -> None:
            recorder.stack.append(path)
            x = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
            if isinstance(mod, nn.modules.batchnorm._BatchNorm) and x is not None:
                call = bn_calls.get(path, 0)
                bn_calls[path] = call + 1
                if recorder.dropouts:   # only a BatchNorm that runs after some dropout can be fed by one
                    bn_inputs.append(BatchNormInput(path, call, _channel_variance(x)))
            if family or is_dropout:
                recorder.inside_leaf += 1
                if x is not None and family in ("sigmoid", "tanh"):
                    # the pre-activation, kept before an in-place activation overwrites it
                    recorder.pre_activations[id(mod)] = x.detach().clone()
                if is_dropout and x is not None:
                    name = type(mod).__name__
                    recorder.dropouts.append(DropoutCall(path, name, recorder.occurrence(path, name),
                                                         tuple(x.shape), _neighbour_correlation(x), True))

        def hook(mod: nn.Module, inputs: tuple, output: Any, path: str = path, family: str | None = family,
                 is_dropout: bool = is_dropout) -> None:
            if recorder.stack and recorder.stack[-1] == path:
                recorder.stack.pop()
            if family or is_dropout:
                recorder.inside_leaf -= 1
            if family and isinstance(output, torch.Tensor):
                name = type(mod).__name__
                pre = recorder.pre_activations.pop(id(mod), None)
                stats = _activation_stats(path, name, recorder.occurrence(path, name), family,
                                          pre if pre is not None else output, output, recorder.after_conv, True)
                if stats is not None:
                    recorder.activations.append(stats)

        handles.append(module.register_forward_pre_hook(pre_hook))
        handles.append(module.register_forward_hook(hook))
    return handles


def _layers(model: nn.Module, recorder: _Recorder) -> list[LayerGradient]:
    """Parametric layers in the order their weights were first used, with their weight's gradient norm."""
    params = dict(model.named_parameters())
    layers: list[LayerGradient] = []
    seen: set[str] = set()
    for pname, function in recorder.weight_order:
        owner_path = pname.rpartition(".")[0]
        kind = _module_kind(recorder.modules.get(owner_path))
        layer = owner_path if kind else pname
        if layer in seen:
            continue
        if kind is None and pname.rpartition(".")[2] == "bias":
            continue
        seen.add(layer)
        weight = _weight_name(recorder.modules.get(owner_path), owner_path) if kind else pname
        grad = params[weight].grad if weight in params else None
        layers.append(LayerGradient(layer, kind or "matmul", weight, grad=None if grad is None else grad.detach()))
    return layers


def _weight_name(module: nn.Module | None, path: str) -> str:
    prefix = f"{path}." if path else ""
    for attr in ("weight", "in_proj_weight", "q_proj_weight", "weight1"):
        if module is not None and isinstance(getattr(module, attr, None), nn.Parameter):
            return prefix + attr
    return prefix + "weight"


# -- the probe -------------------------------------------------------------------------------------

def _forward(model: nn.Module, inputs: tuple[Any, ...], recorder: _Recorder) -> Any:
    with recorder:
        return model(*inputs)


class ProbeFailed(MeasurementUnavailable):
    """The probe could not run on this model: its own code failed under the probe (a training-mode branch, a
    backward through NumPy...) or the probe would not fit in memory. The report says so, once, in a note."""


def _fail(stage: str, exc: BaseException) -> MeasurementUnavailable:
    return ProbeFailed(f"the probe's {stage} failed ({user_error_text(exc)[:300]})")


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


class NonFiniteValues(MeasurementUnavailable):
    """The probe met NaN or infinite values: every measurement that depends on them is withheld, for this reason.

    `layer` is the module path of the first layer (execution order) whose output was not finite, when known;
    `stage` says where they were seen ("outputs", "loss", "gradients"); `share` the non-finite share there.
    """

    def __init__(self, stage: str, share: float, layer: str | None):
        self.stage, self.share, self.layer = stage, share, layer
        where = f", first produced by `{layer}`" if layer else ""
        super().__init__(f"the probe's {stage} are not finite ({share:.1%} NaN or infinite{where})")


def _non_finite_share(tensors: Iterable[torch.Tensor]) -> float:
    floats = [t.detach() for t in tensors if t.is_floating_point() and t.numel()]
    if all(torch.isfinite(t.sum()) for t in floats):   # a NaN or inf anywhere makes the sum non-finite
        return 0.0
    total = sum(t.numel() for t in floats)
    bad = sum(int((~torch.isfinite(t)).sum()) for t in floats)
    return bad / total if total else 0.0


def first_non_finite_layer(model: nn.Module, forward: Callable[[], Any]) -> str | None:
    """The module path of the first leaf module whose output is not finite, from one more forward pass."""
    found: list[str] = []

    def hook(path: str) -> Callable[..., None]:
        def record(module: nn.Module, inputs: Any, output: Any) -> None:
            if not found and _non_finite_share(tensors_in(output)) > 0:
                found.append(path)
        return record

    handles = [m.register_forward_hook(hook(path)) for path, m in model.named_modules()
               if path and not list(m.children())]
    try:
        with torch.no_grad():
            forward()
    except Exception:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return found[0] if found else None


def _memory_guard() -> contextlib.AbstractContextManager[Any]:
    """Stops a train forward whose kept activations grow past the memory budget. The probe checks its estimate
    from the traced shapes before it runs; inside an opaque layer (a block fx could not trace) the estimate
    cannot see what the layer keeps: an attention over 3,136 tokens keeps 0.9 GB per matrix per layer, and a
    probe of such a model took all 24 GiB of the machine before the kernel killed it."""
    budget = memory_budget()
    return contextlib.nullcontext() if budget is None else RunBudget(max_growth_bytes=budget)


def _forward_backward(forward: Callable[[], Any], seed: int, what: str,
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
        raise _fail(f"train-mode forward pass{what}", exc) from None
    share = _non_finite_share(outputs)
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
        raise _fail(f"backward pass{what}", exc) from None
    if model is not None:
        share = _non_finite_share(p.grad for p in model.parameters() if p.grad is not None)
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
    recorder = _Recorder(subject)
    handles = _install_hooks(subject, recorder, bn_inputs)
    try:
        outputs = _forward_backward(lambda: _forward(subject, inputs, recorder), seed, "", subject)
        grads = {n: (None if p.grad is None else p.grad.detach())
                 for n, p in subject.named_parameters() if p.requires_grad}
        layers = _layers(subject, recorder)
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
    )


def _run_without_dropout(subject: nn.Module, inputs: tuple[Any, ...], seed: int,
                         with_dropout: list[BatchNormInput]) -> list[torch.Tensor] | None:
    """Train mode again, same seed, every dropout an identity: fills each BatchNorm record's input variance
    without dropout; returns the outputs."""
    subject.train()
    without_dropout: list[BatchNormInput] = []
    quiet = _Recorder(subject, drop_dropout=True)
    handles = _install_hooks(subject, quiet, without_dropout)
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


# -- backward signal at graph nodes ----------------------------------------------------------------

# ops that belong to the layer they follow: the layer's output activation is read after them
_LAYER_TAIL_KINDS = frozenset({"norm", "act", "identity"})


def layer_output(graph: "ArchGraph", node: "LayerNode") -> "LayerNode":
    """The node whose output is `node`'s activation: the layer, then its norm/activation ops on a single path."""
    current = node
    while True:
        # shape reads (timm's BatchNormAct2d asserts x.ndim) and weights/buffers of a functional norm
        # (F.batch_norm's running stats) are not data flow: they neither end the layer nor count as a merge
        following = [n for n in graph.successors(current) if n.kind != "shape"]
        if len(following) != 1 or following[0].kind not in _LAYER_TAIL_KINDS \
                or len([p for p in graph.predecessors(following[0]) if p.kind != "param"]) != 1:
            return current
        current = following[0]


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
            raise _fail("copy of the traced graph", exc) from None
        subject.train()
        train_functional_norms(subject)
        for p in subject.parameters():
            p.grad = None
            if from_input:
                p.requires_grad_(False)
        tap = _GradientTap(subject, set(names))
        _forward_backward(lambda: tap.run(*inputs), seed, " of the traced graph")
    return {name: NodeGradient(name, _rms(tap.grads[name]) if name in tap.grads else None, *tap.values[name])
            for name in names if name in tap.values}


def describe_graph_method(batch: int, seed: int, max_side: int | None = None) -> str:
    return (describe_method(batch, seed, max_side).replace("probe on a copy", "probe on a copy of the traced fx graph")
            + "; δ = RMS per element of ∂L/∂(layer output after its norm/activation)")


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0 or math.isnan(denominator):
        return None
    return numerator / denominator


__all__ = [
    "ProbeResult", "LayerGradient", "ActivationStats", "BatchNormInput", "DropoutCall", "run_probe",
    "readout_loss", "describe_method", "probe_inputs", "ratio",
    "SATURATION_BOUND", "NodeGradient", "graph_gradients", "layer_output",
    "describe_graph_method",
]

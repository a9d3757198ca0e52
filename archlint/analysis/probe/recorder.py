"""What the probe records during its train forward: the weights each parametric layer uses (in order), activation
statistics, BatchNorm inputs and dropout calls, from a TorchFunctionMode and module hooks."""
from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from archlint.analysis.graph import PARAMETRIC_KINDS, module_kind
from archlint.analysis.probe.results import (
    SATURATION_BOUND,
    ActivationStats,
    BatchNormInput,
    DropoutCall,
    LayerGradient,
    OutputSignal,
)

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


class Recorder(TorchFunctionMode):
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
        self.output_signals: dict[str, OutputSignal] = {}
        self.called_twice: set[str] = set()

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


def install_hooks(model: nn.Module, recorder: Recorder, bn_inputs: list[BatchNormInput]) -> list[Any]:
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
        if next(module.children(), None) is None:
            handles.append(module.register_forward_hook(
                lambda mod, inputs, output, path=path: _record_signal(recorder, path, output)))
    return handles


def _rms64(t: torch.Tensor) -> float:
    """RMS of a tensor, accumulated in float64 (without a float64 copy of it)."""
    return float(torch.linalg.vector_norm(t.detach(), dtype=torch.float64)) / math.sqrt(t.numel())


def _record_signal(recorder: Recorder, path: str, output: Any) -> None:
    """The RMS of a leaf module's output now, and of the gradient that reaches it in the backward pass: the δ a rule
    reads at a graph node, without a pass of its own (a module called twice has no single output: left out)."""
    if path in recorder.output_signals or path in recorder.called_twice:
        recorder.output_signals.pop(path, None)
        recorder.called_twice.add(path)
        return
    if not isinstance(output, torch.Tensor) or not output.is_floating_point() or not output.numel():
        return
    # the value read now: a later in-place op may overwrite it (the hook still sees this version's gradient)
    signal = OutputSignal(None, _rms64(output), output.numel())
    recorder.output_signals[path] = signal
    if output.requires_grad:
        output.register_hook(lambda grad: setattr(signal, "grad_rms", _rms64(grad)))


def recorded_layers(model: nn.Module, recorder: Recorder) -> list[LayerGradient]:
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

"""Receptive field and effective stride of every spatial node of an ArchGraph.

This is the engine side of the receptive-field lesson: pure geometry on the data-flow graph, no
opinion about what is "enough". For every node whose output still has spatial axes we keep, per
axis, the interval of input coordinates that output position 0 can depend on, `[lo, hi]`, and the
effective stride `jump` (input pixels between two neighbouring output positions). Output position
`i` then depends on `[lo + i*jump, hi + i*jump]`, and the receptive field is `hi - lo + 1`.

A window op (conv, pool) with kernel k, stride s, padding p and dilation d maps

    lo' = lo - p*jump,   hi' = hi + ((k-1)*d - p)*jump,   jump' = s*jump

which is the classic recurrence RF' = RF + (k-1)*d*jump with the centre offset kept as well, so
that at a merge (add, cat, mul) of branches whose windows are not centred alike the union of the
intervals is taken (it equals the maximum RF over the paths when the centres agree). A transposed
conv with stride s divides the jump by s. Jumps are exact fractions.

Axes are keyed by negative tensor dims (-1 = last), so permutes (ConvNeXt's channels-last blocks)
and broadcasting merges line up. A branch that reaches a merge with spatial size 1 (a global pool
squeezed to 1x1, as in squeeze-and-excitation gates) does not widen the local RF; it sets
`global_context`, because through it every output position depends on the whole input.

Public API: `rf_table(model, *inputs)` -> rows, `format_rf_table(rows)` -> text,
`compute_receptive_fields(graph, overrides)` -> {node name: NodeRF} and `last_spatial_node(graph, rfs)`.
"""
from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, Iterable, Mapping, Sequence

import torch
from torch import fx, nn

from archlint.analysis.graph import ArchGraph, LayerNode, build_graph
from archlint.analysis.measurement import MeasurementUnavailable
from archlint.mechanics.state import preserved_rng
from archlint.trace.tracers import trace_model

Overrides = Mapping[str, Mapping[str, tuple[int, ...]]]   # node name -> {"stride"|"dilation": per-axis values}

_MERGE_KINDS = frozenset({"add", "mul", "cat"})
_POINTWISE_KINDS = frozenset({"act", "norm", "dropout", "identity", "detach", "add", "mul", "cat"})
_RESAMPLE_NAMES = ("interpolate", "upsample", "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d")
_PERMUTE_NAMES = ("permute", "transpose", "swapaxes", "swapdims", "movedim")
# ops of unchanged rank that may still move axes (an equation's output order is its own; a product's last axis
# comes from its other operand, kind "matmul")
_AXES_REORDERING_NAMES = frozenset({"einsum", "rearrange", "as_strided", "unfold"})
# Ops that act element by element (or are no-ops on values) and keep the shape: no note needed.
_ELEMENTWISE_NAMES = frozenset({
    "stochastic_depth", "contiguous", "clone", "getitem", "to", "float", "double", "half", "type_as", "clamp",
    "clamp_min", "clamp_max", "neg", "sub", "truediv", "div", "pow", "sqrt", "rsqrt", "abs", "exp", "log",
    "sigmoid_", "hardtanh_", "channel_shuffle", "chunk", "split",
})


@dataclass(frozen=True)
class AxisRF:
    """Receptive field of a node's output along one spatial axis, in input pixels."""

    lo: Fraction        # first input coordinate output position 0 depends on
    hi: Fraction        # last input coordinate output position 0 depends on
    jump: Fraction      # input pixels between neighbouring output positions (effective stride)
    input_size: int     # size of the input along this axis
    origin: int = -1    # the input's axis (negative dim) these positions are, wherever a permute moved them

    @property
    def rf(self) -> int:
        """Receptive field size; fractional bounds (after upsampling) are rounded up."""
        return math.ceil(self.hi - self.lo) + 1

    def interval(self, position: int) -> tuple[int, int]:
        """Input coordinates (clipped to the input) that output `position` can depend on."""
        lo = math.ceil(self.lo + position * self.jump)
        hi = math.floor(self.hi + position * self.jump)
        return max(lo, 0), min(hi, self.input_size - 1)


@dataclass(frozen=True)
class NodeRF:
    """Receptive field of one node: per spatial axis (keyed by negative tensor dim)."""

    axes: dict[int, AxisRF]
    global_context: bool = False            # some path reaches here through a global pool/statistic
    approximations: tuple[str, ...] = ()    # where the geometry is a conservative estimate, and why
    # the formula could not follow an op on the way here (the map goes on, its geometry is unknown): the node and why
    lost_at: str | None = None

    def ordered_axes(self) -> list[AxisRF]:
        return [self.axes[d] for d in sorted(self.axes)]

    def bound(self, dim: int, position: int) -> tuple[int, int]:
        """Input coordinates output `position` along `dim` can depend on: the local interval, or the
        whole input when a global pool / statistic reaches this node."""
        axis = self.axes[dim]
        return (0, axis.input_size - 1) if self.global_context else axis.interval(position)


# -- hyper-parameters ------------------------------------------------------------------------------

class _SymbolicArgument(Exception):
    """A window argument the trace left as a value computed at run time (`F.avg_pool2d(x, x.size(3))`)."""


def _per_axis(value: Any, n: int, default: int) -> tuple[int, ...]:
    if isinstance(value, fx.Node) or isinstance(value, (tuple, list)) and any(isinstance(v, fx.Node) for v in value):
        raise _SymbolicArgument
    if value is None or (isinstance(value, (tuple, list)) and len(value) == 0):
        return (default,) * n
    if isinstance(value, (tuple, list)):
        values = tuple(int(v) for v in value)
        return values if len(values) == n else (values[0],) * n
    return (int(value),) * n


def _arg(node: fx.Node, index: int, name: str, default: Any) -> Any:
    if name in node.kwargs:
        return node.kwargs[name]
    return node.args[index] if len(node.args) > index else default


def _dims_from_name(type_name: str) -> int | None:
    match = re.search(r"([123])d$", type_name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Window:
    """Per-axis geometry of a sliding-window op."""

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    transposed: bool = False


def _padding(value: Any, kernel: Sequence[int], dilation: Sequence[int]) -> tuple[int, ...]:
    if value == "same":  # PyTorch pads total//2 on the left
        return tuple((d * (k - 1)) // 2 for k, d in zip(kernel, dilation))
    if value == "valid":
        return (0,) * len(kernel)
    return _per_axis(value, len(kernel), 0)


_PAD_MODULES = (nn.modules.padding._ConstantPadNd, nn.modules.padding._ReflectionPadNd,
                nn.modules.padding._ReplicationPadNd, nn.ZeroPad2d) + ((nn.modules.padding._CircularPadNd,)
                                                                       if hasattr(nn.modules.padding, "_CircularPadNd") else ())
_PAD_FUNCTIONS = frozenset({"pad", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "reflection_pad3d",
                            "replication_pad1d", "replication_pad2d", "replication_pad3d", "circular_pad1d",
                            "circular_pad2d", "circular_pad3d"})


def _pad_window(pads: Sequence[int], n: int) -> Window:
    """Explicit padding as a window: kernel 1, stride 1, shifted by the padding before each axis. `pads` is
    torch's order, last axis first: (left, right, top, bottom, ...)."""
    before = [int(pads[2 * i]) if 2 * i < len(pads) else 0 for i in range(n)]
    return Window((1,) * n, (1,) * n, tuple(reversed(before)), (1,) * n)


def pad_window(node: LayerNode) -> Window | None:
    """The window of an explicit padding op (F.pad, aten pad ops, nn.ZeroPad2d and the other Pad modules)."""
    module, fxn = node.module, node.fx_node
    n = len(node.out_shape) - 2 if node.out_shape is not None and len(node.out_shape) >= 3 else 0
    if n <= 0:
        return None
    if module is not None:
        if not isinstance(module, _PAD_MODULES):
            return None
        return _pad_window(_per_axis(module.padding, 2 * n, 0), n)
    if fxn is None or node.type_name not in _PAD_FUNCTIONS:
        return None
    pads = _arg(fxn, 1, "pad" if node.type_name == "pad" else "padding", None)
    if not isinstance(pads, (tuple, list)) or not all(isinstance(v, int) for v in pads):
        return None
    return _pad_window(pads, n)


def window_of(node: LayerNode) -> Window | None:
    """Kernel, stride, padding and dilation of a conv / conv_transpose / pool / explicit padding node, per axis:
    the one place that reads the geometry of a sliding-window op, from a module, a functional call or an aten op.
    None when it is not one, or when an argument is computed at run time (its window is not known)."""
    try:
        return _window_of(node)
    except _SymbolicArgument:
        return None


def _window_of(node: LayerNode) -> Window | None:
    padding_op = pad_window(node)
    if padding_op is not None:
        return padding_op
    module, fxn = node.module, node.fx_node
    if module is not None:
        if isinstance(module, nn.modules.conv._ConvNd):
            kernel = tuple(module.kernel_size)
            dilation = tuple(module.dilation)
            return Window(kernel, tuple(module.stride), _padding(module.padding, kernel, dilation), dilation,
                          module.transposed)
        dims = _dims_from_name(type(module).__name__)
        if dims is None or not hasattr(module, "kernel_size"):
            return None
        kernel = _per_axis(module.kernel_size, dims, 1)
        stride = getattr(module, "stride", None)
        return Window(kernel, _per_axis(stride, dims, 1) if stride else kernel,
                      _per_axis(getattr(module, "padding", 0), dims, 0),
                      _per_axis(getattr(module, "dilation", 1), dims, 1))
    if fxn is None or node.op not in ("call_function", "call_method"):
        return None
    name = node.type_name
    if node.kind in ("conv", "conv_transpose"):
        weight = node.in_shapes[1] if len(node.in_shapes) > 1 else None
        if weight is None:
            return None
        kernel = tuple(int(k) for k in weight[2:])
        n = len(kernel)
        transposed = node.kind == "conv_transpose"
        if name in ("convolution", "_convolution"):   # aten: (input, weight, bias, stride, padding, dilation, transposed, ...)
            stride = _per_axis(_arg(fxn, 3, "stride", 1), n, 1)
            dilation = _per_axis(_arg(fxn, 5, "dilation", 1), n, 1)
            return Window(kernel, stride, _padding(_arg(fxn, 4, "padding", 0), kernel, dilation), dilation,
                          bool(_arg(fxn, 6, "transposed", False)))
        stride = _per_axis(_arg(fxn, 3, "stride", 1), n, 1)
        dilation = _per_axis(_arg(fxn, 7 if transposed else 5, "dilation", 1), n, 1)
        padding = _padding(_arg(fxn, 4, "padding", 0), kernel, dilation)
        return Window(kernel, stride, padding, dilation, transposed)
    dims = _dims_from_name(name.removesuffix("_with_indices"))
    if node.kind != "pool" or dims is None:
        return None
    kernel = _per_axis(_arg(fxn, 1, "kernel_size", 1), dims, 1)
    stride_value = _arg(fxn, 2, "stride", None)
    stride = _per_axis(stride_value, dims, 1) if stride_value else kernel
    padding = _per_axis(_arg(fxn, 3, "padding", 0), dims, 0)
    dilation = _per_axis(_arg(fxn, 4, "dilation", 1), dims, 1) if "max" in name else (1,) * dims
    return Window(kernel, stride, padding, dilation)


# -- propagation -------------------------------------------------------------------------------------

def _spatial_size(shape: Sequence[int] | None, dim: int) -> int | None:
    if shape is None or len(shape) < -dim:
        return None
    return int(shape[dim])


def input_positions(graph: ArchGraph, node: LayerNode) -> tuple[int, ...] | None:
    """The position axes of an input (negative dims), read from the graph: the axes that reach the spatial axes of
    the first window (conv, pool) the input meets through permutes and ops that keep each axis in place (slices,
    pads, concatenations). A series given channels last (B, L, C) and convolved after `x.permute(0, 2, 1)` has its
    positions on axis -2; an input that meets no
    window, or meets it through a reshape, keeps torch's channels-first layout (B, C, *positions)."""
    shape = node.out_shape
    if shape is None or len(shape) < 3:
        return None
    rank = len(shape)
    default = tuple(range(-(rank - 2), 0))
    seen: set[str] = set()
    frontier: list[tuple[LayerNode, list[int]]] = [(node, list(range(rank)))]   # dim i of the node is input dim origin[i]
    while frontier:
        current, origin = frontier.pop(0)
        for following in graph.successors(current):
            if following.name in seen or following.out_shape is None or len(following.out_shape) != rank:
                continue
            seen.add(following.name)
            window = window_of(following) if following.kind in ("conv", "conv_transpose", "pool") else None
            if window is not None:
                return tuple(sorted(origin[d] - rank for d in range(rank - len(window.kernel), rank)))
            if following.type_name in _PERMUTE_NAMES:
                perm = _permutation(following)
                if perm is None:
                    return default
                frontier.append((following, [origin[p] for p in perm]))
            elif following.kind not in ("reshape", "matmul") and following.type_name not in _AXES_REORDERING_NAMES:
                # an op of the same rank that is no reshape keeps each axis where it was (a slice, a pad, a
                # concatenation along an axis: a series padded at both ends before its moving average)
                frontier.append((following, origin))
    return default


def _input_rf(node: LayerNode, positions: tuple[int, ...] | None) -> NodeRF | None:
    shape = node.out_shape
    if shape is None or positions is None:
        return None
    return NodeRF({d: AxisRF(Fraction(0), Fraction(0), Fraction(1), int(shape[d]), d) for d in positions})


def _apply_window(state: NodeRF, window: Window) -> NodeRF:
    axes = dict(state.axes)
    n = len(window.kernel)
    for i, d in enumerate(range(-n, 0)):
        a = axes.get(d)
        if a is None:
            continue
        k, s, p, dil = window.kernel[i], window.stride[i], window.padding[i], window.dilation[i]
        span = (k - 1) * dil
        if window.transposed:
            # out o reads in positions (o + p - j*dil)/s: a window of span/s in input steps, centred at o/s
            axes[d] = replace(a, lo=a.lo + Fraction(p - span, s) * a.jump, hi=a.hi + Fraction(p, s) * a.jump,
                              jump=a.jump / s)
        else:
            axes[d] = replace(a, lo=a.lo - p * a.jump, hi=a.hi + (span - p) * a.jump, jump=a.jump * s)
    return replace(state, axes=axes)


def _adaptive_bins(length: int, out: int) -> tuple[Fraction, Fraction, Fraction]:
    """Bin i of an adaptive pool covers [floor(i*L/O), ceil((i+1)*L/O) - 1]; bound it by a + i*s .. b + i*s."""
    step = Fraction(length, out)
    starts = [(i * length) // out - i * step for i in range(out)]
    ends = [-((-(i + 1) * length) // out) - 1 - i * step for i in range(out)]
    return min(starts), max(ends), step


def _apply_adaptive(state: NodeRF, node: LayerNode) -> tuple[NodeRF, bool]:
    """Adaptive pooling; returns the state and whether the bins were uneven (then it is a bound)."""
    in_shape = node.in_shapes[0] if node.in_shapes else None
    axes = dict(state.axes)
    uneven = False
    for d, a in state.axes.items():
        length, out = _spatial_size(in_shape, d), _spatial_size(node.out_shape, d)
        if length is None or out is None or out < 1:
            continue
        lo, hi, step = _adaptive_bins(length, out)
        uneven |= length % out != 0
        axes[d] = replace(a, lo=a.lo + lo * a.jump, hi=a.hi + hi * a.jump, jump=a.jump * step)
    return replace(state, axes=axes), uneven


def _apply_resample(state: NodeRF, node: LayerNode) -> NodeRF:
    """Upsampling / interpolation: jump scales by in/out; each output reads a few neighbours."""
    in_shape = node.in_shapes[0] if node.in_shapes else None
    mode = str(node.fx_node.kwargs.get("mode", getattr(node.module, "mode", "nearest"))) if node.fx_node else "nearest"
    reach = 2 if "cubic" in mode else 1
    axes = dict(state.axes)
    for d, a in state.axes.items():
        length, out = _spatial_size(in_shape, d), _spatial_size(node.out_shape, d)
        if not length or not out:
            continue
        ratio = Fraction(length, out)           # input steps per output step
        centre = (ratio - 1) / 2
        axes[d] = replace(a, lo=a.lo + (centre - reach) * a.jump, hi=a.hi + (centre + reach) * a.jump,
                          jump=a.jump * ratio)
    return replace(state, axes=axes, approximations=state.approximations
                   + (f"{node.name}: {mode} resampling bounded by ±{reach} input steps",))


def _permutation(node: LayerNode) -> list[int] | None:
    """Output dim i takes input dim perm[i] (non-negative dims), for permute/transpose-like ops."""
    fxn, shape = node.fx_node, node.out_shape
    if fxn is None or shape is None:
        return None
    n = len(shape)
    rest = [a for a in fxn.args[1:]] + list(fxn.kwargs.values())
    ints = [a for a in rest if isinstance(a, int)]
    lists = [a for a in rest if isinstance(a, (list, tuple))]
    if node.type_name == "permute":
        dims = list(lists[0]) if lists else ints
        return [d % n for d in dims] if len(dims) == n else None
    if node.type_name in ("transpose", "swapaxes", "swapdims") and len(ints) == 2:
        perm = list(range(n))
        a, b = ints[0] % n, ints[1] % n
        perm[a], perm[b] = perm[b], perm[a]
        return perm
    return None


def _apply_permutation(state: NodeRF, perm: list[int]) -> NodeRF:
    n = len(perm)
    axes = {}
    for out_dim, in_dim in enumerate(perm):
        a = state.axes.get(in_dim - n)
        if a is not None:
            axes[out_dim - n] = a
    return replace(state, axes=axes)


def _is_global_reduction(node: LayerNode, state: NodeRF) -> bool:
    """mean over all spatial dims (x.mean((2, 3))) or a norm whose statistics span spatial axes."""
    if node.kind == "mean":
        dims = node.hparams.get("dim")
        dims = (dims,) if isinstance(dims, int) else dims
        ndim = len(node.in_shapes[0]) if node.in_shapes and node.in_shapes[0] else 0
        if dims is None or not ndim:
            return True
        reduced = {d % ndim - ndim for d in dims}
        return bool(state.axes) and set(state.axes) <= reduced
    return False


def _norm_spans_space(node: LayerNode, state: NodeRF) -> bool:
    """GroupNorm / InstanceNorm / LayerNorm over spatial dims: every output depends on the whole map."""
    module = node.module
    if isinstance(module, nn.GroupNorm) or node.type_name in ("group_norm", "instance_norm"):
        return True
    if isinstance(module, nn.modules.instancenorm._InstanceNorm):
        return not module.track_running_stats or module.training
    if isinstance(module, nn.LayerNorm):
        covered = range(-len(module.normalized_shape), 0)
        return any(d in state.axes for d in covered)
    return False


def _merge(states: list[tuple[NodeRF, Sequence[int] | None]], out_shape: Sequence[int] | None) -> NodeRF | None:
    """Union of the inputs' intervals per axis; broadcast (size-1) inputs only add global context."""
    if not states:
        return None
    axes: dict[int, AxisRF] = {}
    global_context = any(s.global_context for s, _ in states)
    notes: list[str] = []
    lost_at = next((s.lost_at for s, _ in states if s.lost_at), None)
    for s, shape in states:
        notes.extend(n for n in s.approximations if n not in notes)
        for d, a in s.axes.items():
            size, out = _spatial_size(shape, d), _spatial_size(out_shape, d)
            if size == 1 and out not in (None, 1):
                global_context = True   # a 1-wide map broadcast over a wider one: whole-input context
                continue
            prev = axes.get(d)
            if prev is None:
                axes[d] = a
            else:
                axes[d] = replace(prev, lo=min(prev.lo, a.lo), hi=max(prev.hi, a.hi), jump=max(prev.jump, a.jump))
        if not s.axes and s.global_context:
            global_context = True
    return NodeRF(axes, global_context, tuple(notes), lost_at)


def _global_node(state: NodeRF) -> NodeRF:
    return NodeRF({}, True, state.approximations)


def _propagate(node: LayerNode, inputs: list[tuple[NodeRF, Sequence[int] | None]],
               override: Mapping[str, tuple[int, ...]] | None) -> NodeRF | None:
    if not inputs:
        return None
    first = inputs[0][0]
    kind = node.kind
    if kind in ("conv", "conv_transpose", "pool"):
        window = window_of(node)
        if window is None:
            return _unknown(node, inputs)
        if override:
            window = replace(window, **override)
        return _apply_window(first, window)
    if kind == "adaptive_pool":
        state, uneven = _apply_adaptive(first, node)
        if node.out_shape is not None and all(node.out_shape[d] == 1 for d in first.axes):
            return _global_node(state)
        if uneven:
            state = replace(state, approximations=state.approximations
                            + (f"{node.name}: adaptive pool with uneven bins bounded by its widest bin",))
        return state
    if kind == "mean" and _is_global_reduction(node, first):
        return _global_node(first)
    if kind in ("flatten", "linear", "attention", "matmul", "embedding"):
        return _after_mixing(node, first)
    if kind == "norm" and _norm_spans_space(node, first):
        return replace(_merge(inputs, node.out_shape), global_context=True)
    if kind in _POINTWISE_KINDS:
        return _merge(inputs, node.out_shape)
    if node.type_name in _RESAMPLE_NAMES or type(node.module).__name__ in _RESAMPLE_NAMES:
        return _apply_resample(first, node)
    if kind == "reshape":
        return _apply_reshape(first, node)
    perm = _permutation(node) if node.type_name in _PERMUTE_NAMES else None
    if perm is not None:
        return _apply_permutation(first, perm)
    padding = pad_window(node)
    if padding is not None:
        return _apply_window(first, padding)
    return _unknown(node, inputs)


def _after_mixing(node: LayerNode, state: NodeRF) -> NodeRF | None:
    """Linear on the last dim keeps the other axes (channels-last MLPs); flattening ends the spatial map."""
    if node.kind == "linear" and -1 not in state.axes and node.out_shape is not None:
        return state
    return None


def _apply_reshape(state: NodeRF, node: LayerNode) -> NodeRF | None:
    """view/reshape: axes are followed through groups of dims whose sizes multiply to the same number.

    A spatial axis kept whole moves to its new position (channel shuffles, a radix axis split off);
    one split into (H/b, b) becomes the outer axis with a patch of b pixels (space-to-depth stems:
    TResNet's view(N, C, H/4, 4, W/4, 4)); one merged with another dim (flattening into tokens) ends.
    """
    in_shape, out = (node.in_shapes[0] if node.in_shapes else None), node.out_shape
    if not state.axes or in_shape is None or out is None:
        return None
    groups = _dim_groups(list(in_shape), list(out))
    if groups is None:
        return None
    axes: dict[int, AxisRF] = {}
    for in_dims, out_dims in groups:
        tracked = [d - len(in_shape) for d in in_dims if d - len(in_shape) in state.axes]
        if not tracked:
            continue
        if len(in_dims) != 1:
            return None     # a spatial axis merged with another dim: positions are no longer an axis
        a = state.axes[tracked[0]]
        sizes = [int(out[d]) for d in out_dims]
        outer = next((d for d, size in zip(out_dims, sizes) if size != 1), out_dims[0])
        patch = math.prod(sizes) // int(out[outer])
        axes[outer - len(out)] = replace(a, hi=a.hi + (patch - 1) * a.jump, jump=a.jump * patch)
    return replace(state, axes=axes) if axes else None


def _dim_groups(in_shape: list[int], out: list[int]) -> list[tuple[list[int], list[int]]] | None:
    """Pair consecutive input dims with consecutive output dims of equal product, from the last dim back."""
    groups: list[tuple[list[int], list[int]]] = []
    i, j = len(in_shape) - 1, len(out) - 1
    while i >= 0 and j >= 0:
        in_dims, out_dims = [i], [j]
        a, b = int(in_shape[i]), int(out[j])
        while a != b:
            if a < b and i > 0:
                i -= 1
                in_dims.insert(0, i)
                a *= int(in_shape[i])
            elif b < a and j > 0:
                j -= 1
                out_dims.insert(0, j)
                b *= int(out[j])
            else:
                return None
        groups.append((in_dims, out_dims))
        i, j = i - 1, j - 1
    if any(int(in_shape[k]) != 1 for k in range(i + 1)) or any(int(out[k]) != 1 for k in range(j + 1)):
        return None
    return groups


def _keeps_spatial_axes(state: NodeRF, shape: Sequence[int] | None, out: Sequence[int] | None) -> bool:
    """The op's output has the input's trailing spatial axes, same sizes (or broadcast from 1). The rank may
    change in front of them: ResNeSt's split attention sums (B, radix, C, H, W) over the radix into (B, C, H, W)."""
    if out is None or shape is None or not state.axes:
        return False
    depth = -min(state.axes)
    return len(out) >= depth and len(shape) >= depth and all(shape[d] in (out[d], 1) for d in state.axes)


def _unknown(node: LayerNode, inputs: list[tuple[NodeRF, Sequence[int] | None]]) -> NodeRF | None:
    """An op we do not model: keep the geometry if it keeps the spatial axes and their sizes; else a module's
    geometry is measured on it alone; else, while its output is still a map, the map goes on with its geometry lost
    (the rule then judges by measurement only); an op whose output is no map ends it."""
    out = node.out_shape
    kept = [(s, shape) for s, shape in inputs if _keeps_spatial_axes(s, shape, out)]
    if not kept:
        first, shape = inputs[0]
        window = measured_window(node)
        if window is not None:
            state = _apply_window(first, window)
            return replace(state, approximations=state.approximations
                           + (f"{node.name}: the geometry of {node.type_name} was measured on it alone",))
        if first.axes and shape is not None and out is not None and len(out) == len(shape) \
                and all(_spatial_size(out, d) not in (None, 1) for d in first.axes):
            return replace(first, lost_at=first.lost_at or f"{node.name} ({node.type_name})")
        return None
    merged = _merge(kept, out)
    if merged is None or node.type_name in _ELEMENTWISE_NAMES:
        return merged
    return replace(merged, approximations=merged.approximations
                   + (f"{node.name}: {node.type_name} treated as element-wise (spatial sizes unchanged)",))


_MEASURED_MODULE_LIMIT = 1 << 22     # parameters: an opaque block bigger than this is not run on its own


def measured_window(node: LayerNode) -> Window | None:
    """The window of a module the formula does not know (an anti-aliasing blur pool, a block a fallback tracer kept
    whole), measured on the module alone: a float64 copy in eval mode runs one random input of the node's input
    shape; the input extent with a nonzero gradient for the centre output position gives the kernel and padding,
    the ratio of the sizes the stride. None when it cannot be measured (meta weights, several tensor inputs, a
    stride that is not whole, a module too large to run alone)."""
    module, in_shape, out = node.module, (node.in_shapes[0] if len(node.in_shapes) == 1 else None), node.out_shape
    if module is None or in_shape is None or out is None or len(in_shape) != len(out) or len(out) < 3:
        return None
    if any(p.is_meta for p in module.parameters()) or any(b.is_meta for b in module.buffers()) \
            or sum(p.numel() for p in module.parameters()) > _MEASURED_MODULE_LIMIT:
        return None
    n = len(out) - 2
    strides = [Fraction(int(in_shape[d]), int(out[d])) for d in range(-n, 0)]
    if any(s.denominator != 1 for s in strides):
        return None
    try:
        with preserved_rng(0), torch.enable_grad():
            copy_of = copy.deepcopy(module).double().eval()
            wake_zero_parameters(copy_of)
            x = torch.randn((1, *[int(s) for s in in_shape[1:]]), dtype=torch.float64, requires_grad=True)
            y = copy_of(x)
            y = y[0] if isinstance(y, (tuple, list)) else y
            if not isinstance(y, torch.Tensor) or tuple(y.shape[1:]) != tuple(int(s) for s in out[1:]):
                return None
            centre = [int(out[d]) // 2 for d in range(-n, 0)]
            y[(0, slice(None), *centre)].sum().backward()
    except Exception:   # a module that does not run alone (it reads state set elsewhere): the geometry stays unknown
        return None
    grad = x.grad[0].abs().sum(dim=0)
    kernel, padding = [], []
    for axis in range(n):
        others = [a for a in range(n) if a != axis]
        nonzero = torch.nonzero((grad.amax(dim=others) if others else grad) > 0).flatten()
        if not len(nonzero):
            return None
        lo, hi = int(nonzero.min()), int(nonzero.max())
        kernel.append(hi - lo + 1)
        padding.append(centre[axis] * int(strides[axis]) - lo)
    return Window(tuple(kernel), tuple(int(s) for s in strides), tuple(padding), (1,) * n)


def _tensor_inputs(node: LayerNode) -> list[str]:
    """Names of the input nodes in argument order (the data input first)."""
    if node.fx_node is None:
        return []
    return [n.name for n in node.fx_node.all_input_nodes]


def compute_receptive_fields(graph: ArchGraph, overrides: Overrides | None = None) -> dict[str, NodeRF]:
    """Receptive field of every node with spatial axes; `overrides` changes stride/dilation of some nodes."""
    overrides = overrides or {}
    result: dict[str, NodeRF] = {}
    for node in graph.nodes():
        if node.kind == "input":
            state = _input_rf(node, input_positions(graph, node))
        else:
            names = _tensor_inputs(node) or [p.name for p in graph.predecessors(node)]
            inputs = [(result[n], graph[n].out_shape) for n in names if n in result and n in graph]
            state = _propagate(node, inputs, overrides.get(node.name))
        if state is not None and (state.axes or state.global_context):
            result[node.name] = state
    return result


def block_window(graph: ArchGraph, rfs: Mapping[str, NodeRF], module_path: str) -> tuple[int, ...] | None:
    """The receptive field of the module at `module_path` over its own input, per axis, from the formula's fields at
    its input and its output: (RF out − RF in) / jump in + 1. The same measure for a layer of the model and the block
    a fix put in its place; None where the graph does not give it."""
    nodes = graph.under(module_path)
    if not nodes:
        return None
    first, last = nodes[0], nodes[-1]
    before = [p for p in graph.predecessors(first) if p.name in rfs and p.kind not in ("param", "shape")]
    if not before or last.name not in rfs:
        return None
    inner, outer = rfs[before[0].name], rfs[last.name]
    if inner.lost_at or outer.lost_at or set(inner.axes) != set(outer.axes) or not inner.axes:
        return None
    sizes = []
    for d in sorted(inner.axes):
        span = (outer.axes[d].hi - outer.axes[d].lo) - (inner.axes[d].hi - inner.axes[d].lo)
        sizes.append(int(span / inner.axes[d].jump) + 1)
    return tuple(sizes)


def last_spatial_node(graph: ArchGraph, rfs: Mapping[str, NodeRF]) -> LayerNode | None:
    """The last node (execution order) whose output is still a map wider than 1 pixel."""
    found = None
    for node in graph.nodes():
        state = rfs.get(node.name)
        shape = node.out_shape
        if state is None or not state.axes or shape is None or node.kind == "output":
            continue
        if any(_spatial_size(shape, d) not in (None, 1) for d in state.axes):
            found = node
    return found


# -- table -------------------------------------------------------------------------------------------

def rf_rows(graph: ArchGraph, rfs: Mapping[str, NodeRF]) -> list[dict[str, Any]]:
    """One row per spatial node: the per-layer table the report plots."""
    rows = []
    for node in graph.nodes():
        state = rfs.get(node.name)
        if state is None or not state.axes or node.kind == "output" or state.lost_at:
            continue
        axes = state.ordered_axes()
        rows.append({
            "node": node.name,
            "module": node.module_path,
            "kind": node.kind,
            "rf": [a.rf for a in axes],
            "jump": [float(a.jump) for a in axes],
            "input_size": [a.input_size for a in axes],
            "out_shape": list(node.out_shape) if node.out_shape is not None else None,
            "global_context": state.global_context,
        })
    return rows


def rf_table(model: nn.Module, *example_inputs: Any) -> list[dict[str, Any]]:
    """Trace `model` on `example_inputs` and return its per-layer receptive-field table."""
    traced = trace_model(model, example_inputs)   # in eval mode; the model's flags are restored
    graph = build_graph(traced.graph_module, model)
    return rf_rows(graph, compute_receptive_fields(graph))


def format_rf_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """A plain-text table: node, module, kind, RF, jump, output shape."""
    def fmt(values: Sequence[Any]) -> str:
        return "×".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values)

    header = ("node", "module", "kind", "RF", "jump", "out shape")
    lines = [(r["node"], r["module"] or "-", r["kind"], fmt(r["rf"]) + (" +global" if r.get("global_context") else ""),
              fmt(r["jump"]), fmt(r["out_shape"] or ())) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(line, widths)).rstrip() for line in [header, *lines])


# -- empirical measurement -----------------------------------------------------------------------------

def _subgraph_module(root: nn.Module, graph: fx.Graph, target: str) -> fx.GraphModule:
    """A GraphModule over `root` (a copy of the model) that returns the node named `target`."""
    new_graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for node in graph.nodes:
        if node.op == "output":
            continue
        env[node] = new_graph.node_copy(node, lambda n: env[n])
        if node.name == target:
            new_graph.output(env[node])
            break
    module = fx.GraphModule(root, new_graph)
    module.graph.eliminate_dead_code()
    module.recompile()
    return module


def wake_zero_parameters(model_copy: nn.Module) -> int:
    """Give every all-zero parameter of `model_copy` nonzero values; returns how many there were.

    A residual branch whose last norm scale is 0 (zero_init_residual, timm's zero_init_last), a layer
    scale of 0 or a zero-initialised projection pass no gradient at initialisation, so the measured
    field would be that of the shortcuts alone: a property of this initialisation, not of the
    architecture, which training changes after one step. Scales (1-D) become 1, weights small
    deterministic random values.
    """
    woken = 0
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model_copy.parameters():
            if p.numel() == 0 or bool(p.any()):
                continue
            woken += 1
            if p.dim() <= 1:
                p.fill_(1.0)
            else:
                fan_in = max(1, p[0].numel())
                p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype) / math.sqrt(fan_in))
    return woken


def _first_sample(example_inputs: Sequence[Any]) -> list[Any]:
    """The inputs cut to their first sample (every tensor whose first dimension is the batch's)."""
    tensors = [x for x in example_inputs if isinstance(x, torch.Tensor) and x.dim() > 0]
    batch = tensors[0].shape[0] if tensors else 1
    return [x[:1] if isinstance(x, torch.Tensor) and x.dim() > 0 and x.shape[0] == batch else x for x in example_inputs]


def _run_to_node(module: fx.GraphModule, example_inputs: Sequence[Any]) -> tuple[list[Any], Any]:
    """The float64 inputs that require a gradient, and the module's output on them."""
    inputs = [x.detach().double().clone().requires_grad_(True) if isinstance(x, torch.Tensor) and x.is_floating_point()
              else x for x in example_inputs]
    with torch.enable_grad():
        return inputs, module(*inputs)


def empirical_rf(model_copy: nn.Module, node: LayerNode, axes: Iterable[int], example_inputs: Sequence[Any],
                 position: Mapping[int, int] | None = None,
                 input_axes: Sequence[int] | None = None) -> dict[int, tuple[int, int]]:
    """Input extent (per spatial axis, keyed by negative dim) whose gradient is nonzero for one position.

    Runs `model_copy` (a copy the caller owns: it is put in eval mode and float64) up to `node`,
    sums the non-spatial dims at `position` along `axes` (negative dims of the node's output; the
    centre by default) for the first sample, backpropagates,
    and returns the [first, last] input coordinates with a nonzero gradient along `input_axes` (the input's
    position axes, negative dims, as `input_positions` reads them; channels-first by default). float64 keeps
    rounding noise far below any real contribution; a structurally zero gradient is exactly 0.
    """
    if node.fx_node is None:
        raise ValueError("node has no fx node to run up to")
    model_copy = model_copy.eval().double()
    wake_zero_parameters(model_copy)
    module = _subgraph_module(model_copy, node.fx_node.graph, node.name)
    try:   # the first sample alone is read: a batch of one costs half (float64 is slow on a CPU)
        inputs, out = _run_to_node(module, _first_sample(example_inputs))
    except Exception:
        inputs, out = _run_to_node(module, example_inputs)   # a forward that needs the whole batch
    with torch.enable_grad():
        if isinstance(out, (tuple, list)):
            out = out[0]
        index: list[Any] = [slice(None)] * out.dim()
        index[0] = 0
        for d in axes:
            index[d] = position[d] if position else out.shape[d] // 2
        out[tuple(index)].sum().backward()
    image = next(x for x in inputs if isinstance(x, torch.Tensor) and x.requires_grad and x.dim() >= 3)
    if not bool(torch.isfinite(image.grad).all()):
        raise MeasurementUnavailable("the input gradient is NaN or infinite (the model's values are not finite)")
    grad = image.grad[0].abs()       # the first sample, without its batch axis
    rank = grad.dim() + 1
    positions = list(input_axes) if input_axes is not None else list(range(-(rank - 2), 0))
    extents = {}
    for axis in positions:
        others = [a for a in range(-(rank - 1), 0) if a != axis]
        profile = grad.amax(dim=others) if others else grad
        nonzero = torch.nonzero(profile > 0).flatten()
        extents[axis] = (int(nonzero.min()), int(nonzero.max())) if len(nonzero) else (0, -1)
    return extents


__all__ = [
    "AxisRF", "NodeRF", "Window", "block_window", "window_of", "compute_receptive_fields", "input_positions",
    "last_spatial_node", "rf_rows",
    "rf_table", "format_rf_table", "empirical_rf", "wake_zero_parameters",
]

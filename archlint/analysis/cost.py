"""Parameter and multiply-accumulate (MAC) counts of convolution and linear layers.

Counted from a layer's hyper-parameters and shapes, never by running it, so the same functions
price both the user's layers and a replacement that exists only on paper (a stack of 3×3 convs,
a bottleneck, a smaller head). Conventions, used everywhere in archlint:

- params: weight elements plus bias elements;
- MACs: per sample (batch 1): one multiply-accumulate per weight element per output position,
  i.e. conv = C_out · (C_in / groups) · prod(kernel) · prod(output spatial size); linear =
  in_features · out_features per row. Biases, activations, norms and pooling are not counted.

Lesson-agnostic: rules decide what to compare; this module only counts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from archlint.analysis.graph import ArchGraph, LayerNode
from archlint.analysis.receptive_field import window_of

Size = tuple[int, ...]


@dataclass(frozen=True)
class ConvSpec:
    """The geometry of one convolution, per spatial axis (enough to count it and to write it down)."""

    in_channels: int
    out_channels: int
    kernel: Size
    stride: Size
    padding: Size            # per side (PyTorch's symmetric `padding`)
    dilation: Size
    groups: int = 1
    bias: bool = True
    padding_mode: str = "zeros"

    @property
    def spatial_dims(self) -> int:
        return len(self.kernel)

    def weight_count(self) -> int:
        return self.out_channels * (self.in_channels // self.groups) * math.prod(self.kernel)

    def params(self) -> int:
        return self.weight_count() + (self.out_channels if self.bias else 0)

    def output_size(self, input_size: Sequence[int]) -> Size:
        """PyTorch's output length per axis: floor((L + 2p - d(k-1) - 1) / s) + 1."""
        return tuple((length + 2 * p - d * (k - 1) - 1) // s + 1
                     for length, k, s, p, d in zip(input_size, self.kernel, self.stride, self.padding, self.dilation))

    def macs(self, output_size: Sequence[int]) -> int:
        """Per-sample MACs for an output map of `output_size` (spatial axes only)."""
        return self.weight_count() * math.prod(output_size)

    def receptive_field(self) -> Size:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def module_code(self) -> str:
        """`nn.Conv2d(...)` source text for this spec (defaults left out)."""
        def axes(values: Size) -> str:
            return str(values[0]) if len(set(values)) == 1 else str(tuple(values))

        args = [str(self.in_channels), str(self.out_channels), f"kernel_size={axes(self.kernel)}"]
        if any(s != 1 for s in self.stride):
            args.append(f"stride={axes(self.stride)}")
        if any(p != 0 for p in self.padding):
            args.append(f"padding={axes(self.padding)}")
        if any(d != 1 for d in self.dilation):
            args.append(f"dilation={axes(self.dilation)}")
        if self.groups != 1:
            args.append(f"groups={self.groups}")
        if not self.bias:
            args.append("bias=False")
        if self.padding_mode != "zeros":
            args.append(f"padding_mode={self.padding_mode!r}")
        return f"nn.Conv{self.spatial_dims}d({', '.join(args)})"


@dataclass(frozen=True)
class ChainCost:
    """Cost of a chain of convolutions applied one after the other."""

    params: int
    macs: int
    output_size: Size
    sizes: tuple[Size, ...]   # output spatial size of each layer


def conv_spec(node: LayerNode) -> ConvSpec | None:
    """The ConvSpec of a (non-transposed) conv node, from its module or its functional call; None if unknown."""
    if node.kind != "conv":
        return None
    window = window_of(node)
    if window is None or window.transposed:
        return None
    channels = _conv_channels(node)
    if channels is None:
        return None
    in_channels, out_channels, groups = channels
    spec = ConvSpec(in_channels, out_channels, window.kernel, window.stride, window.padding, window.dilation,
                    groups, bias=False, padding_mode=str(node.hparams.get("padding_mode", "zeros")))
    # Bias from the parameter count: whatever the node holds beyond its weight.
    return replace(spec, bias=node.params > spec.weight_count())


def _conv_channels(node: LayerNode) -> tuple[int, int, int] | None:
    hp = node.hparams
    if "in_channels" in hp and "out_channels" in hp:
        return int(hp["in_channels"]), int(hp["out_channels"]), int(hp.get("groups", 1))
    weight = node.in_shapes[1] if len(node.in_shapes) > 1 else None
    data = node.in_shapes[0] if node.in_shapes else None
    if weight is None or data is None or len(data) < 2 or len(weight) < 3 or weight[1] <= 0:
        return None
    in_channels = int(data[1])
    return in_channels, int(weight[0]), max(1, in_channels // int(weight[1]))


def spatial_size(shape: Sequence[int] | None) -> Size | None:
    """Spatial axes of an N, C, *spatial shape."""
    if shape is None or len(shape) < 3 or any(s < 0 for s in shape):
        return None
    return tuple(int(s) for s in shape[2:])


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    return in_features * out_features + (out_features if bias else 0)


def linear_macs(in_features: int, out_features: int, rows: int = 1) -> int:
    return in_features * out_features * rows


def node_macs(node: LayerNode) -> int | None:
    """Per-sample MACs of a conv or linear node from its output shape; None if it cannot be counted."""
    if node.kind == "conv":
        spec = conv_spec(node)
        out = spatial_size(node.out_shape)
        return spec.macs(out) if spec is not None and out is not None else None
    if node.kind == "linear":
        features = linear_features(node)
        if features is None or not node.out_shape:
            return None
        rows = math.prod(node.out_shape[1:-1]) if len(node.out_shape) > 2 else 1
        return linear_macs(*features, rows)
    return None


def linear_features(node: LayerNode) -> tuple[int, int] | None:
    """(in_features, out_features) of a linear node: from its module, or from the weight an `F.linear` call
    reads (an exported graph keeps many layers as such calls)."""
    hp = node.hparams
    if "in_features" in hp and "out_features" in hp:
        return int(hp["in_features"]), int(hp["out_features"])
    weight = node.in_shapes[1] if len(node.in_shapes) > 1 else None
    if weight is not None and len(weight) == 2:
        return int(weight[1]), int(weight[0])
    return None


def model_macs(graph: ArchGraph) -> int:
    """Per-sample MACs summed over the conv and linear layers that can be counted."""
    return sum(m for m in map(_countable_macs, graph.nodes(("conv", "linear"))) if m is not None)


def _countable_macs(node: LayerNode) -> int | None:
    """node_macs, or None for a layer whose sizes the trace left symbolic (a functional call's argument node)."""
    try:
        return node_macs(node)
    except (TypeError, ValueError):
        return None


def chain_cost(specs: Iterable[ConvSpec], input_size: Sequence[int]) -> ChainCost:
    """Params and per-sample MACs of convs applied in sequence to a map of `input_size`."""
    params = macs = 0
    size = tuple(input_size)
    sizes: list[Size] = []
    for spec in specs:
        size = spec.output_size(size)
        params += spec.params()
        macs += spec.macs(size)
        sizes.append(size)
    return ChainCost(params, macs, size, tuple(sizes))


def chain_receptive_field(specs: Sequence[ConvSpec]) -> Size:
    """Receptive field per axis of convs in sequence: RF += d(k-1) · product of earlier strides."""
    if not specs:
        return ()
    rf = [1] * specs[0].spatial_dims
    jump = [1] * specs[0].spatial_dims
    for spec in specs:
        for axis in range(spec.spatial_dims):
            rf[axis] += spec.dilation[axis] * (spec.kernel[axis] - 1) * jump[axis]
            jump[axis] *= spec.stride[axis]
    return tuple(rf)


__all__ = [
    "ConvSpec", "ChainCost", "conv_spec", "spatial_size", "linear_params", "linear_macs", "node_macs",
    "model_macs", "chain_cost", "chain_receptive_field",
]


def block_cost(graph: ArchGraph, module_path: str) -> tuple[int, int]:
    """(params, per-sample MACs of its conv and linear layers) of the module at `module_path` as the graph has it:
    the same count for a layer of the model and for the block a fix put in its place."""
    nodes = graph.under(module_path)
    try:
        # the module's own parameters: in an export graph the weights are read by nodes of their own, outside the
        # block, so the block's ops hold none of them uniquely
        module = graph.model.get_submodule(module_path) if graph.model is not None and module_path else None
    except AttributeError:
        module = None
    params = sum(p.numel() for p in {id(p): p for p in module.parameters()}.values()) if module is not None \
        else sum(n.unique_params for n in nodes)
    return params, sum(node_macs(n) or 0 for n in nodes)


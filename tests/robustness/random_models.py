"""Random small CNN / MLP stacks for the property tests (hypothesis strategies + the model they describe)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from hypothesis import strategies as st
from torch import nn


@dataclass(frozen=True)
class ConvSpec:
    kernel: int
    stride: int
    dilation: int
    out_channels: int
    same_padding: bool
    skip: bool          # add a shortcut around this conv (identity, or a 1x1 projection when shapes differ)
    pool: str           # "", "max" or "avg": a 2x2 pool after the block
    reuse: bool         # apply this block's conv a second time (shared weights), when channels allow


@dataclass(frozen=True)
class StackSpec:
    in_channels: int
    size: int
    convs: tuple[ConvSpec, ...]
    head: str           # "none" (the model returns the feature map), "gap" or "flatten"
    mlp: tuple[int, ...]  # hidden widths of the MLP head

    @property
    def has_max_pool(self) -> bool:
        return any(c.pool == "max" for c in self.convs)

    @property
    def has_holes(self) -> bool:
        """A conv whose stride is longer than its kernel, or a dilated one, reads input positions with gaps
        between them (and a dilated tap can land in the padding): the receptive field has holes and
        ragged edges, and the formula's interval, which has none, only bounds it."""
        return any(c.stride > c.kernel or c.dilation > 1 for c in self.convs)


conv_specs = st.builds(
    ConvSpec,
    kernel=st.sampled_from([1, 2, 3, 5]),
    stride=st.sampled_from([1, 1, 2]),
    dilation=st.sampled_from([1, 1, 2]),
    out_channels=st.integers(1, 6),
    same_padding=st.booleans(),
    skip=st.booleans(),
    pool=st.sampled_from(["", "", "max", "avg"]),
    reuse=st.booleans(),
)

stack_specs = st.builds(
    StackSpec,
    in_channels=st.integers(1, 4),
    size=st.integers(12, 40),
    convs=st.lists(conv_specs, min_size=1, max_size=5).map(tuple),
    head=st.sampled_from(["none", "gap", "flatten"]),
    mlp=st.lists(st.integers(1, 12), max_size=2).map(tuple),
)


@dataclass(frozen=True)
class BlockPlan:
    """What a block does, decided statically (so fx traces exactly what eager execution runs)."""

    c_in: int
    spec: ConvSpec
    padding: int
    reuse: bool      # the conv is applied twice (needs c_in == out_channels and stride 1)
    skip: bool       # the shortcut fits (2*padding == reach keeps the size the 1x1 stride-s projection gives)
    pool: str        # the pool, if the map is still at least 2x2
    size_out: int    # map size after the block (< 1: the spec does not fit its input)


def plan(spec: StackSpec) -> list[BlockPlan]:
    plans, c_in, size = [], spec.in_channels, spec.size
    for c in spec.convs:
        reach = (c.kernel - 1) * c.dilation
        pad = reach // 2 if c.same_padding else 0
        reuse = c.reuse and c.stride == 1 and c_in == c.out_channels
        size = (size + 2 * pad - reach - 1) // c.stride + 1
        if reuse:
            size = size + 2 * pad - reach
        skip = c.skip and 2 * pad == reach
        pool = c.pool if c.pool and size >= 2 else ""
        if pool:
            size //= 2
        plans.append(BlockPlan(c_in, c, pad, reuse, skip, pool, size))
        c_in = c.out_channels
    return plans


def fits(spec: StackSpec) -> bool:
    return all(p.size_out >= 1 for p in plan(spec))


class Block(nn.Module):
    def __init__(self, p: BlockPlan):
        super().__init__()
        c = p.spec
        self.conv = nn.Conv2d(p.c_in, c.out_channels, c.kernel, c.stride, p.padding, c.dilation)
        self.act = nn.ReLU()
        self.reuse, self.skip = p.reuse, p.skip
        self.project = nn.Conv2d(p.c_in, c.out_channels, 1, c.stride) if p.skip and (
            p.c_in != c.out_channels or c.stride != 1) else None
        self.pool = {"max": nn.MaxPool2d(2), "avg": nn.AvgPool2d(2), "": None}[p.pool]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))
        if self.reuse:
            y = self.act(self.conv(y))
        if self.skip:
            y = y + (self.project(x) if self.project is not None else x)
        if self.pool is not None:
            y = self.pool(y)
        return y


def without_shortcuts(spec: StackSpec) -> StackSpec:
    """The same stack with every shortcut removed."""
    return StackSpec(spec.in_channels, spec.size, tuple(dataclasses.replace(c, skip=False) for c in spec.convs),
                     spec.head, spec.mlp)


class RandomStack(nn.Module):
    """conv blocks, then an optional head: global average pool or flatten, then an MLP."""

    def __init__(self, spec: StackSpec):
        super().__init__()
        plans = plan(spec)
        self.features = nn.Sequential(*[Block(p) for p in plans])
        c_in = plans[-1].spec.out_channels
        self.head_kind = spec.head
        layers: list[nn.Module] = []
        if spec.head != "none":
            width = c_in if spec.head == "gap" else c_in * plans[-1].size_out ** 2
            layers.append(nn.AdaptiveAvgPool2d(1) if spec.head == "gap" else nn.Identity())
            layers.append(nn.Flatten())
            for hidden in spec.mlp:
                layers += [nn.Linear(width, hidden), nn.ReLU()]
                width = hidden
            layers.append(nn.Linear(width, 3))
        self.head = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build(spec: StackSpec, seed: int = 0) -> RandomStack:
    torch.manual_seed(seed)
    return RandomStack(spec).eval()


def example_input(spec: StackSpec) -> torch.Tensor:
    return torch.randn(1, spec.in_channels, spec.size, spec.size, generator=torch.Generator().manual_seed(0))


def unique_parameter_count(model: nn.Module) -> int:
    """Counted independently of archlint: every distinct Parameter object once."""
    return sum(p.numel() for p in {id(p): p for _, p in model.named_parameters(remove_duplicate=False)}.values())

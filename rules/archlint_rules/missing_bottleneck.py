"""missing-bottleneck (AL601): a wide spatial convolution without a 1×1 reduction in front of it.

What it finds
    Convolutions with a kernel of 3×3 or larger (at least 3 along every spatial axis) whose input
    AND output both have at least `min_channels` channels (256 by default), and that are not fed by
    a 1×1 convolution which reduces the channels (directly or through norms and activations), i.e.
    that are not already the middle of a bottleneck block. Depthwise and grouped convolutions are
    not reported: they are already cheap along the channel axis.

Why it matters
    A k×k conv costs C_in·C_out·k² weights and as many MACs per output position, so at 256 or 512
    channels the spatial convolutions dominate the model's compute. The bottleneck design (ResNet-50
    and later) runs the expensive k×k conv on a narrow map: a 1×1 conv reduces C_in to C/4, the
    k×k conv works at C/4 → C/4, a 1×1 conv expands back to C_out. For 256→256 3×3 this is
    16,384 + 36,864 + 16,384 = 69,632 weights instead of 589,824 (8.5× fewer), and adds two
    non-linearities and two layers of depth. The 1×1 layers also mix channels, which the reduction
    makes explicit.

    This is a trade-off, not a bug, hence severity info by default: the k×k conv then sees only
    C/4 channels, so capacity per layer drops, and many thin layers can be slower on hardware than
    their MAC count suggests. VGG-style plain networks are a legitimate choice when compute is not
    the constraint. The finding shows what the change would buy on this model so the choice is
    informed.

Example
    >>> nn.Sequential(nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),
    ...               nn.Conv2d(256, 256, 3, padding=1), nn.ReLU())

Fix
    Put the conv between a 1×1 reduction and a 1×1 expansion:
    `Conv 1×1 (C_in → C/4) → act → Conv k×k (C/4 → C/4, original stride/padding) → act →
    Conv 1×1 (C/4 → C_out)`, with C = min(C_in, C_out) and the divisor set by `reduction`. A
    residual connection around the block (as in ResNet) is what makes deep stacks of them train
    well. The finding prints the block with this model's numbers and counts parameters and
    per-sample MACs of the layer before and after, and of all reported layers of the model together
    (the model-level metric is the same in every finding of one model).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from archlint.rulekit import (
    VERIFIED, ArchGraph, ChainCost, CheckContext, ConvSpec, Finding, Fix, LayerNode, Metric, Option, ReplaceModule,
    Rule, Severity, block_cost, chain_cost, conv_spec, dims_text, hookimpl, no_module_to_replace, sequential,
    spatial_size,
)

# What may sit between a 1×1 reduction and the conv it feeds (BN, ReLU, dropout ...).
_BETWEEN = ("norm", "act", "dropout", "identity")


@dataclass(frozen=True)
class Candidate:
    node: LayerNode
    spec: ConvSpec
    block: tuple[ConvSpec, ...]
    macs: int
    block_cost: ChainCost
    width: int


def bottleneck_block(spec: ConvSpec, width: int) -> tuple[ConvSpec, ...]:
    """1×1 reduce → the conv at `width` channels (same geometry) → 1×1 expand."""
    ones = (1,) * spec.spatial_dims
    zeros = (0,) * spec.spatial_dims

    def pointwise(c_in: int, c_out: int) -> ConvSpec:
        return ConvSpec(c_in, c_out, ones, ones, zeros, ones, 1, spec.bias, "zeros")

    return (pointwise(spec.in_channels, width), replace(spec, in_channels=width, out_channels=width),
            pointwise(width, spec.out_channels))


def _reduced_by_pointwise(graph: ArchGraph, node: LayerNode) -> bool:
    """Fed by a 1×1 conv that narrows the channels: the conv is already inside a bottleneck."""
    for feeder in graph.nearest(node, ("conv",), direction="up", through=_BETWEEN):
        spec = conv_spec(feeder)
        if spec is not None and all(k == 1 for k in spec.kernel) and spec.out_channels < spec.in_channels:
            return True
    return False




def _layers(graph: ArchGraph, c: Candidate) -> list[str]:
    acts = graph.nearest(c.node, ("act",), through=("norm", "identity", "dropout"))
    act = f"nn.{acts[0].module!r}" if acts and acts[0].module is not None else "nn.ReLU(inplace=True)"
    reduce, middle, expand = c.block
    return [reduce.module_code(), act, middle.module_code(), act, expand.module_code()]


def _change(graph: ArchGraph, c: Candidate) -> ReplaceModule | None:
    """The bottleneck as a change of the model: the conv module replaced (a functional call has no module)."""
    return ReplaceModule(c.node.module_path, sequential(_layers(graph, c))) if c.node.layer_module is not None \
        else None


def _snippet(graph: ArchGraph, c: Candidate, change: ReplaceModule | None) -> str:
    head = (f"# `{c.node.display_name}`: {c.spec.in_channels}→{c.spec.out_channels} {dims_text(c.spec.kernel)} conv as a "
            f"bottleneck ({c.spec.in_channels}→{c.width}→{c.width}→{c.spec.out_channels})")
    if change is not None:
        return f"{head}\n{change.snippet()}"
    return (f"{head}\nreplacement = {sequential(_layers(graph, c))}\n# use `replacement(x)` in place of the "
            f"{c.node.type_name}(...) call")


class MissingBottleneck(Rule):
    code = "AL601"
    name = "missing-bottleneck"
    summary = "a wide 3×3 (or larger) convolution without a 1×1 channel reduction in front"
    severity = Severity.INFO
    options = (
        Option("min_channels", 256, "report convs with at least this many input and output channels"),
        Option("reduction", 4, "bottleneck width = min(C_in, C_out) // reduction"),
    )

    def candidates(self, ctx: CheckContext) -> list[Candidate]:
        graph = ctx.graph
        min_channels = int(ctx.options["min_channels"])
        reduction = max(1, int(ctx.options["reduction"]))
        found = []
        for node in graph.nodes("conv"):
            spec = conv_spec(node)
            if spec is None or spec.groups != 1 or min(spec.kernel) < 3:
                continue
            if spec.in_channels < min_channels or spec.out_channels < min_channels:
                continue
            in_size = spatial_size(node.in_shapes[0] if node.in_shapes else None)
            out_size = spatial_size(node.out_shape)
            if in_size is None or out_size is None or _reduced_by_pointwise(graph, node):
                continue
            if all(o == 1 for o in out_size) and tuple(spec.kernel) == tuple(in_size):
                continue   # its kernel covers the whole map: a fully connected layer (timm VGG's 7×7 head), no spatial conv
            width = max(1, min(spec.in_channels, spec.out_channels) // reduction)
            block = bottleneck_block(spec, width)
            found.append(Candidate(node, spec, block, spec.macs(out_size), chain_cost(block, in_size), width))
        return found

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        found = self.candidates(ctx)
        for c in found:
            yield self._finding(ctx, c, len(found))

    def _finding(self, ctx: CheckContext, c: Candidate, count: int) -> Finding:
        graph = ctx.graph
        # a conv whose weight is computed in forward (weight standardisation) holds none itself: count its weight
        spec, params = c.spec, c.node.params or c.spec.params()
        message = (
            f"{dims_text(spec.kernel)} conv {spec.in_channels}→{spec.out_channels} runs at full width: {params:,} params "
            f"and {c.macs:,} MACs; a 1×1 reduction to {c.width} channels, the {dims_text(spec.kernel)} conv at "
            f"{c.width}→{c.width} and a 1×1 expansion would need {c.block_cost.params:,} params "
            f"({c.block_cost.params / params:.1%}) and {c.block_cost.macs:,} MACs "
            f"({c.block_cost.macs / c.macs:.1%}); {count} such conv(s) in this model"
        )
        change = _change(graph, c)
        unmeasured = ["accuracy after the change was not measured: a bottleneck has less capacity per layer and must "
                      "be trained to compare"]
        if change is None:
            unmeasured.append(no_module_to_replace(c.node.type_name))
        fixed = ctx.fixed_or_none(change)
        block = block_cost(fixed.graph, c.node.module_path) if fixed else None
        on_copy = f"; {VERIFIED}" if fixed else ""
        effect = (
            Metric("params", params, block[0] if block else None, "",
                   "weights + biases of the conv's layers in the traced graph" + on_copy),
            Metric("MACs", c.macs, block[1] if block else None, "",
                   f"per sample, C_out·C_in/groups·kernel per output position of each conv in the traced graph; conv "
                   f"output {dims_text(spatial_size(c.node.out_shape) or ())}" + on_copy),
            Metric("model params", graph.parameter_count(), fixed.graph.parameter_count() if fixed else None, "",
                   "all unique params of the model, this conv as a bottleneck" + on_copy),
            Metric("model MACs (conv + linear)", ctx.model_macs, fixed.analyses.model_macs if fixed else None, "",
                   "per sample, this conv as a bottleneck" + on_copy),
        )
        return Finding.at(c.node, self.code, message,
                          fix=Fix(f"Wrap the conv in a bottleneck: 1×1 {spec.in_channels}→{c.width}, "
                                  f"{dims_text(spec.kernel)} {c.width}→{c.width}, 1×1 {c.width}→{spec.out_channels} "
                                  f"(ideally with a residual connection around it).", _snippet(graph, c, change), change),
                          effect=effect, unmeasured=tuple(unmeasured))


@hookimpl
def archlint_rules() -> list[Rule]:
    return [MissingBottleneck()]

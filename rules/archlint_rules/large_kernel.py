"""large-kernel (AL501): a convolution with a kernel larger than 3 where stacked 3×3 convolutions are cheaper.

What it finds
    Convolutions whose kernel is longer than 3 along some axis (5×5, 7×7, 11×11, a 5-tap 1-D
    conv, a 5×5×5 3-D conv...) for which a stack of small convolutions with exactly the same
    receptive field, the same stride and the same output size costs clearly fewer parameters AND
    fewer multiply-accumulates on this model. The alternative is priced for real: every layer of
    the stack, with its channel widths, groups, padding and the map size it runs on.

Why it matters
    A k-tap kernel and a chain of 3-tap kernels can see the same window: each 3-tap layer widens
    the receptive field by 2 (times its dilation), so two 3×3 layers see 5×5 and three see 7×7.
    The chain pays 9 weights per channel pair per layer where the big kernel pays k², so a 5×5
    (25) becomes 2·9 = 18 and a 7×7 (49) becomes 27, and every extra layer brings one more
    non-linearity between the steps, which makes the function more expressive, not less. This is
    why VGG-style networks replaced the 11×11 and 5×5 kernels of earlier designs with 3×3 stacks.

    The trade does not always pay, and the rule stays quiet where it does not:
    - patchify layers (kernel == stride, e.g. ViT's 16×16 stride-16 stem) cut the input into
      non-overlapping tiles; a 3×3 stack cannot reproduce that at lower cost;
    - stems on raw images (at most `stem_in_channels` input channels): a stack whose intermediate
      maps had only 1–4 channels would be a bottleneck, so the stack is priced at the output width,
      and then it is more expensive (ResNet's 7×7 stem: 9,408 params vs 75,456 for three 3×3);
    - depthwise convs (one filter per channel) are never flagged: their large kernel is the design
      (ConvNeXt's 7×7, MobileNet's and EfficientNet's 5×5), a spatial mixer that costs C·k² beside
      pointwise layers that cost C²; a stack would add depth and latency for a saving that depends
      only on how small the model's widths are (the same 7×7 is flagged at width 32, not at 96);
    - grouped convs stay grouped in the alternative, where the saving is real but often tiny
      compared to the model: below `min_model_share` of the model's parameters and MACs it is not
      worth a finding;
    - models where all the stacks together would save less than `min_total_share` (5%) of the
      model's parameters and of its MACs: iFormer-S's one 5×5 stem conv (16→64) is 28% cheaper as
      a stack, but that is 0.2% of the model's params and 2.1% of its MACs, a redesign the model
      would not notice (AlexNet's 5×5 saves 8.8% of its MACs and is reported);
    - strided large kernels: the stride goes to the last layer of the stack (the only place that
      keeps the receptive field equal), so the first layers run at full resolution and usually
      cost more MACs than they save.

Example
    >>> nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
    ...               nn.Conv2d(64, 192, 5, padding=2), nn.ReLU())
    The 5×5 conv holds 307,392 parameters; 3×3 (64→64) + 3×3 (64→192) see the same 5×5 window
    with 147,712.

Fix
    Replace the conv with ⌈(k-1)/2⌉ stacked 3-tap convs (an even kernel gets one 2-tap layer so the
    receptive field stays exactly k), an activation between them, the original stride on the last
    layer and the original padding spread over the layers so the output size does not change. The
    finding prints the replacement with this model's channels, padding and stride, and the
    parameters and per-sample MACs before and after, counted from the layer shapes.

Show all
    With `--show-all` (`show_all=True`), every conv with a kernel longer than 3 that is not
    flagged is reported at info severity with the reason and, where it was computed, the same
    cost comparison. Without it the rule reports nothing for those convs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from archlint.rulekit import (
    VERIFIED, ArchGraph, ChainCost, CheckContext, ConvSpec, Finding, Fix, LayerNode, Metric, Option, ReplaceModule,
    Rule, Severity, block_cost, block_window, chain_cost, conv_spec, dims_text, hookimpl, no_module_to_replace,
    sequential, spatial_size,
)

_NORM_OR_ACT = ("norm", "act", "identity", "dropout")


@dataclass(frozen=True)
class Comparison:
    """The conv and its small-kernel replacement, both priced on this model."""

    spec: ConvSpec
    stack: tuple[ConvSpec, ...]
    conv_params: int
    conv_macs: int
    stack_cost: ChainCost
    output_size: tuple[int, ...]

    @property
    def param_saving(self) -> float:
        return 1 - self.stack_cost.params / self.conv_params if self.conv_params else 0.0

    @property
    def mac_saving(self) -> float:
        return 1 - self.stack_cost.macs / self.conv_macs if self.conv_macs else 0.0


def small_taps(k: int) -> list[int]:
    """Kernel lengths of small layers whose receptive fields add up to exactly k: 3-taps, plus a 2-tap if k is even."""
    threes, rest = divmod(k - 1, 2)
    return [3] * threes + [2] * rest



def _mid_channels(spec: ConvSpec, setting: str, stem_in_channels: int) -> int:
    if spec.in_channels <= stem_in_channels:
        mid = spec.out_channels   # raw-image input: a 1-4 channel intermediate map would be a bottleneck
    elif setting == "in":
        mid = spec.in_channels
    elif setting == "out":
        mid = spec.out_channels
    elif setting.strip().isdigit():
        mid = int(setting)
    else:
        mid = min(spec.in_channels, spec.out_channels)
    return math.ceil(mid / spec.groups) * spec.groups   # grouped convs stay grouped: widths divisible by groups


def _paddings(taps: list[int], dilation: int, total: int) -> list[int]:
    """Spread the conv's padding over the stack: 'same' padding per layer while it lasts, the rest up front."""
    paddings, left = [], total
    for t in taps:
        p = min(dilation * (t - 1) // 2, left)
        paddings.append(p)
        left -= p
    paddings[0] += left
    return paddings


def small_kernel_stack(spec: ConvSpec, mid: int) -> tuple[ConvSpec, ...]:
    """Stacked small convs with the receptive field, stride, output size and groups of `spec`."""
    per_axis = [small_taps(k) for k in spec.kernel]
    layers = max(1, max(len(t) for t in per_axis))
    per_axis = [[1] * (layers - len(t)) + t for t in per_axis]   # shorter axes: 1-tap layers first
    paddings = [_paddings(t, d, p) for t, d, p in zip(per_axis, spec.dilation, spec.padding)]
    stack = []
    for i in range(layers):
        last = i == layers - 1
        stack.append(ConvSpec(
            in_channels=spec.in_channels if i == 0 else mid,
            out_channels=spec.out_channels if last else mid,
            kernel=tuple(t[i] for t in per_axis),
            stride=spec.stride if last else (1,) * spec.spatial_dims,   # stride last: the RF stays equal
            padding=tuple(p[i] for p in paddings),
            dilation=spec.dilation, groups=spec.groups, bias=spec.bias, padding_mode=spec.padding_mode,
        ))
    return tuple(stack)



def _activation_code(graph: ArchGraph, node: LayerNode) -> str:
    """The activation this conv already uses (so the stack matches the model's style), else ReLU."""
    acts = graph.nearest(node, ("act",), through=("norm", "identity", "dropout"))
    module = acts[0].module if acts else None
    if module is not None:
        return f"nn.{module!r}"
    return "nn.ReLU(inplace=True)"


def _change(graph: ArchGraph, node: LayerNode, comparison: Comparison) -> ReplaceModule | None:
    """The stack as a change of the model: the conv module replaced (a functional conv call has no module to
    replace: no change the engine can run)."""
    if node.layer_module is None:
        return None
    act = _activation_code(graph, node)
    layers = []
    for i, layer in enumerate(comparison.stack):
        layers.append(layer.module_code())
        if i < len(comparison.stack) - 1:
            layers.append(act)
    return ReplaceModule(node.module_path, sequential(layers))


def _snippet(node: LayerNode, comparison: Comparison, change: ReplaceModule | None) -> str:
    rf = dims_text(comparison.spec.receptive_field())
    head = (f"# `{node.display_name}`: {dims_text(comparison.spec.kernel)} conv → "
            f"{len(comparison.stack)} small convs, same {rf} receptive field and output size")
    if change is not None:
        return f"{head}\n{change.snippet()}"
    layers = [layer.module_code() for layer in comparison.stack]
    return (f"{head}\nreplacement = {sequential(layers)}\n# use `replacement(x)` in place of the {node.type_name}(...) "
            f"call")


def compare(node: LayerNode, spec: ConvSpec, mid: int) -> Comparison | None:
    in_size = spatial_size(node.in_shapes[0] if node.in_shapes else None)
    out_size = spatial_size(node.out_shape)
    if in_size is None or out_size is None:
        return None
    stack = small_kernel_stack(spec, mid)
    return Comparison(spec, stack, node.params, spec.macs(out_size), chain_cost(stack, in_size), out_size)


def _is_patchify(spec: ConvSpec) -> bool:
    return all(k == s for k, s in zip(spec.kernel, spec.stride) if k > 3)


class MidChannelsOption(Option):
    """`mid_channels`: one of min / in / out, or a positive channel count (config errors name the option)."""

    def coerce(self, value: object) -> str:
        text = str(value).strip().lower()
        if text in ("min", "in", "out") or (text.isdigit() and int(text) > 0):
            return text
        raise ValueError(f"option {self.name!r} expects 'min', 'in', 'out' or a positive number, got {value!r}")


MID_CHANNELS = MidChannelsOption("mid_channels", "min", "intermediate width of the stack: min, in, out, or a number")


class LargeKernel(Rule):
    code = "AL501"
    name = "large-kernel"
    summary = "a convolution with a kernel larger than 3 where a stack of 3×3 convolutions is cheaper"
    severity = Severity.WARNING
    options = (
        Option("min_saving", 0.25, "flag only if the stack saves at least this share of the conv's params and MACs"),
        Option("min_model_share", 0.01,
               "flag only if the saving is at least this share of the model's params or conv+linear MACs"),
        Option("min_total_share", 0.05,
               "flag only if all flagged convs together save at least this share of the model's params or MACs"),
        MID_CHANNELS,
        Option("stem_in_channels", 4, "convs on at most this many input channels use the output width in the stack"),
    )

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        graph = ctx.graph
        totals = None
        flagged: list[tuple[LayerNode, Comparison]] = []
        for node in graph.nodes("conv"):
            spec = conv_spec(node)
            if spec is None:
                if ctx.show_all and _longest_kernel(node) > 3:
                    yield self._kept(node, "its geometry (channels, kernel, padding) could not be read from the "
                                           "traced call, so no alternative was priced")
                continue
            if max(spec.kernel) <= 3:
                continue
            if _is_patchify(spec):
                if ctx.show_all:
                    yield self._kept(node, f"patchify layer: kernel {dims_text(spec.kernel)} equals its stride, so it "
                                           f"cuts the input into non-overlapping tiles that a 3×3 stack does not "
                                           f"reproduce")
                continue
            mid = _mid_channels(spec, MID_CHANNELS.coerce(ctx.options["mid_channels"]),
                                int(ctx.options["stem_in_channels"]))
            comparison = compare(node, spec, mid)
            if comparison is None:
                if ctx.show_all:
                    yield self._kept(node, "its input or output shape is unknown, so the stack could not be priced")
                continue
            if totals is None:
                totals = (graph.parameter_count(), ctx.model_macs)
            reason = self._why_not(ctx, comparison, totals)
            if reason is None:
                flagged.append((node, comparison))
            elif ctx.show_all:
                yield self._kept(node, reason, comparison)
        if not flagged:
            return
        assert totals is not None
        too_small = self._too_small_together(ctx, [c for _, c in flagged], totals)
        for node, comparison in flagged:
            if too_small is None:
                yield self._finding(ctx, node, comparison, totals)
            elif ctx.show_all:
                yield self._kept(node, too_small, comparison)

    def _too_small_together(self, ctx: CheckContext, flagged: list[Comparison], totals: tuple[int, int]) -> str | None:
        """Why the model would not notice: all the stacks together save less than `min_total_share` of it."""
        params, macs = totals
        saved_params = sum(c.conv_params - c.stack_cost.params for c in flagged)
        saved_macs = sum(c.conv_macs - c.stack_cost.macs for c in flagged)
        share = max(saved_params / params if params else 0.0, saved_macs / macs if macs else 0.0)
        min_total = float(ctx.options["min_total_share"])
        if share >= min_total:
            return None
        return (f"replacing all {len(flagged)} large-kernel conv(s) of the model would save {saved_params:,} params "
                f"and {saved_macs:,} MACs, at most {share:.1%} of the model, below the {min_total:.0%} "
                f"`min_total_share`")

    def _why_not(self, ctx: CheckContext, c: Comparison, totals: tuple[int, int]) -> str | None:
        if c.spec.groups > 1 and c.spec.groups == c.spec.in_channels:
            return (f"a depthwise conv (groups={c.spec.groups}): its large kernel is a deliberate spatial mixer, "
                    "not a dense layer a 3×3 stack replaces")
        min_saving = float(ctx.options["min_saving"])
        if c.param_saving < min_saving or c.mac_saving < min_saving:
            return (f"the small-kernel stack would change params by {-c.param_saving:+.0%} and MACs by "
                    f"{-c.mac_saving:+.0%}; a finding needs a saving of at least {min_saving:.0%} on both")
        params, macs = totals
        share = max((c.conv_params - c.stack_cost.params) / params if params else 0.0,
                    (c.conv_macs - c.stack_cost.macs) / macs if macs else 0.0)
        min_share = float(ctx.options["min_model_share"])
        if share < min_share:
            return (f"the stack would save {c.conv_params - c.stack_cost.params:,} params and "
                    f"{c.conv_macs - c.stack_cost.macs:,} MACs, at most {share:.2%} of the model, below the "
                    f"{min_share:.0%} `min_model_share`")
        return None

    def _finding(self, ctx: CheckContext, node: LayerNode, c: Comparison, totals: tuple[int, int]) -> Finding:
        graph = ctx.graph
        spec, n = c.spec, len(c.stack)
        kernels = " + ".join(dims_text(layer.kernel) for layer in c.stack)
        widths = "→".join(str(w) for w in [spec.in_channels, *(layer.out_channels for layer in c.stack)])
        grouped = f", groups={spec.groups}" if spec.groups > 1 else ""
        rf = dims_text(spec.receptive_field())
        message = (
            f"{dims_text(spec.kernel)} conv ({spec.in_channels}→{spec.out_channels}{grouped}, output "
            f"{dims_text(c.output_size)}) costs {c.conv_params:,} params and {c.conv_macs:,} MACs; {n} stacked "
            f"convs ({kernels}, {widths}) see the same {rf} window for {c.stack_cost.params:,} params "
            f"(−{c.param_saving:.0%}) and {c.stack_cost.macs:,} MACs (−{c.mac_saving:.0%}), with {n - 1} more "
            f"non-linearit{'y' if n == 2 else 'ies'}"
        )
        params, macs = totals
        change = _change(graph, node, c)
        unmeasured = ["accuracy after the change was not measured: the stack is a different, deeper function and "
                      "must be trained"]
        if change is None:
            unmeasured.append(no_module_to_replace(node.type_name))
        fixed = ctx.fixed_or_none(change)
        path = node.module_path
        block = block_cost(fixed.graph, path) if fixed else None
        window = block_window(fixed.graph, fixed.analyses.receptive_fields, path) if fixed else None
        before_window = block_window(graph, ctx.receptive_fields, path) if node.layer_module is not None else None
        on_copy = f"; {VERIFIED}" if fixed else ""
        effect = (
            Metric("params", c.conv_params, block[0] if block else None, "",
                   "weights + biases of the conv's layers in the traced graph" + on_copy),
            Metric("MACs", c.conv_macs, block[1] if block else None, "",
                   f"per sample: C_out·C_in/groups·kernel per output position of each conv in the traced graph; "
                   f"conv output {dims_text(c.output_size)}" + on_copy),
            Metric("model params", params, fixed.graph.parameter_count() if fixed else None, "",
                   "all unique parameters of the model" + on_copy),
            Metric("model MACs (conv + linear)", macs, fixed.analyses.model_macs if fixed else None, "",
                   "per sample, summed over the conv and linear layers" + on_copy),
            Metric("non-linearities", 0, len([x for x in fixed.graph.under(path) if x.kind == "act"]) if fixed else None,
                   "", "activations inside the conv's module in the traced graph" + on_copy),
            Metric("receptive field", dims_text(before_window or spec.receptive_field()),
                   dims_text(window) if window else None, "px",
                   "of the module over its own input, from the RF formula on the traced graph" + on_copy),
        )
        return Finding.at(node, self.code, message,
                          fix=Fix(f"Replace the {dims_text(spec.kernel)} conv with {n} stacked small convs "
                                  f"({kernels}) and an activation between them; stride and padding as shown keep "
                                  f"the output {dims_text(c.output_size)}.", _snippet(node, c, change), change),
                          effect=effect, unmeasured=tuple(unmeasured))

    def _kept(self, node: LayerNode, reason: str, c: Comparison | None = None) -> Finding:
        kernel = dims_text(c.spec.kernel) if c else dims_text(_kernel_of(node))
        effect: tuple[Metric, ...] = ()
        if c is not None:
            effect = (
                Metric("params", c.conv_params, c.stack_cost.params, "",
                       "counted from layer shapes: the conv vs the small-kernel stack"),
                Metric("MACs", c.conv_macs, c.stack_cost.macs, "", "per sample, conv vs small-kernel stack"),
            )
        return Finding.at(node, self.code, f"not flagged ({kernel} conv): {reason}", effect=effect,
                          severity=Severity.INFO)


def _kernel_of(node: LayerNode) -> tuple[int, ...]:
    value = node.hparams.get("kernel_size")
    if isinstance(value, tuple):
        return value
    if isinstance(value, int):
        return (value,)
    weight = node.in_shapes[1] if len(node.in_shapes) > 1 else None
    return tuple(weight[2:]) if weight and len(weight) > 2 else ()


def _longest_kernel(node: LayerNode) -> int:
    return max(_kernel_of(node), default=0)


@hookimpl
def archlint_rules() -> list[Rule]:
    return [LargeKernel()]

"""receptive-field (AL201): the last spatial layer sees too little of the input.

What it finds
    A convolutional network whose last spatial feature map (the one that goes into global pooling,
    a flatten or the head) has a receptive field smaller than a share of the input (`min_coverage`
    of the smaller input side, 50% by default). Each output position of that map then summarises
    only a small patch of the image: the head can only combine local evidence.

Why it matters
    The receptive field of a unit is the input region that can change its value. It grows by
    (k - 1) * dilation * jump per layer, where the jump (effective stride) is the product of the
    strides before that layer. A stack of stride-1 3x3 convolutions grows it by only 2 pixels per
    layer, so a shallow network, or one that downsamples too little for its input size, never relates
    distant parts of the input. Objects larger than the receptive field are seen piece by piece.

    archlint computes the receptive field on the data-flow graph (branches, skips and concatenations
    take the union over paths; dilation, pooling, strided and transposed convolutions; per axis for
    1-D/2-D/3-D and non-square shapes) and measures the empirical receptive field: the input extent
    with a nonzero gradient for the centre position of the last spatial map, in float64 on a copy of
    the model in eval mode, with its all-zero parameters made nonzero (a residual branch whose
    last norm scale is 0 passes no gradient at initialisation, but is part of the architecture's
    field after one training step). That pass is estimated first and not run past the memory budget or
    past 25 G multiply-accumulates per sample (a minute of CPU), which the finding says. With `--race`, the model
    and its fix (a dilation or a stride) are trained on a task that needs a wide field (which of two far-apart
    patches is brighter); a race that does not confirm the finding makes it info. Global-pooling gates (squeeze-and-excitation) give every
    position some whole-image context, but only as channel weights; the rule judges the spatial
    receptive field and says when such gates exist.

Example
    >>> nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    ...               nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
    ...               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    On 128x128 inputs its last conv sees 8x8 pixels: 6% of the side.

Fix
    Grow the receptive field before the head: more 3x3 convolutions (each adds 2 x jump pixels),
    a stride-2 convolution or pooling earlier (doubles the growth of every later layer) or dilated
    convolutions (grow the field without losing resolution). The finding computes, for this model,
    how many extra 3x3 layers reach the target at the current jump, the latest layer whose stride 2
    would reach it, and the smallest dilation of one conv that would, with the receptive field
    after each change.

Ignored on purpose: models whose last spatial layer feeds attention or matrix products over tokens
(ViT-style patch stems, DiT-like latent transformers built of torch's nn.TransformerEncoderLayer): the tokens mix
globally after the stem.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from torch import nn

from archlint.rulekit import (
    VERIFIED, ArchGraph, CheckContext, Finding, Fix, LayerNode, MeasurementUnavailable, Metric, NodeRF, Option, Race,
    RaceTask, RaceVerdict, ReplaceModule, Rule, Severity, dims_text, hookimpl, last_spatial_node, spatial_size, window_of,
)
from archlint.rulekit.provisional import compute_receptive_fields

_TOKEN_MIXING = ("attention", "matmul")
_MAX_CANDIDATES = 60


@dataclass(frozen=True)
class Change:
    """One computed way to reach the target: what to change, and the RF per axis afterwards."""

    description: str
    node: LayerNode | None
    rf_after: dict[int, int]
    snippet: str
    change: ReplaceModule | None = None      # the same change as data the engine runs, when the layer is a module




def _rf_at(graph: ArchGraph, node: LayerNode, overrides: Mapping[str, Mapping[str, tuple[int, ...]]]) -> dict[int, int]:
    state = compute_receptive_fields(graph, overrides).get(node.name)
    return {d: a.rf for d, a in state.axes.items()} if state else {}


def _reaches(rf: Mapping[int, int], axes: Iterable[int], target: int) -> bool:
    return all(rf.get(d, 0) >= target for d in axes)


def _axis_index(window_len: int, d: int) -> int | None:
    """Index into a per-axis window tuple for negative dim d (axes are the trailing dims)."""
    i = window_len + d
    return i if 0 <= i < window_len else None


def _window_indices(rfs: Mapping[str, NodeRF], node: LayerNode, window_len: int, last_state: NodeRF,
                    deficient: list[int]) -> list[int | None]:
    """The index into `node`'s window of each deficient axis of the last map, matched by the input axis both come
    from (a permute between them, as in a series kept channels last, moves the axis to another dim)."""
    here = rfs.get(node.name)
    if here is None:
        return [_axis_index(window_len, d) for d in deficient]
    by_origin = {a.origin: d for d, a in here.axes.items()}
    return [_axis_index(window_len, by_origin.get(last_state.axes[d].origin, 0)) for d in deficient]


def _dominates(graph: ArchGraph, node: LayerNode, last: LayerNode) -> bool:
    """Every path from the inputs to `last` passes `node`: changing its stride cannot break a merge."""
    if node.name == last.name:
        return True
    return not any(graph.has_path(i, last, avoiding={node.name}) for i in graph.inputs() if i.name != node.name)


def _candidates(graph: ArchGraph, last: LayerNode, kinds: tuple[str, ...]) -> list[LayerNode]:
    upstream = graph.ancestors(last) | {last.name}
    found = [n for n in graph.nodes(kinds) if n.name in upstream and window_of(n) is not None]
    return list(reversed(found))[:_MAX_CANDIDATES]


def _channel_axis(node: LayerNode, state: NodeRF) -> int | None:
    """The axis of `node`'s map that is neither the batch nor a position: 1 channels first, the last for a map kept
    channels last (a series of time steps after a Linear over its variables); None when that is not one axis."""
    if not node.out_shape:
        return None
    rank = len(node.out_shape)
    rest = [i for i in range(1, rank) if i - rank not in state.axes]
    return rest[0] if len(rest) == 1 else None


def _more_layers(state: NodeRF, last: LayerNode, deficient: list[int], target: int) -> Change:
    count = max(math.ceil((target - state.axes[d].rf) / (2 * state.axes[d].jump)) for d in deficient)
    after = {d: math.ceil(a.hi - a.lo + 2 * count * a.jump) + 1 for d, a in state.axes.items()}
    spatial = len(state.axes)
    channel_axis = _channel_axis(last, state)
    channels = last.out_shape[channel_axis] if last.out_shape and channel_axis is not None else "C"
    jumps = dims_text(f"{float(state.axes[d].jump):g}" for d in sorted(state.axes))
    moved = (f"# `{last.display_name}` has its channels on axis {channel_axis}: move them to axis 1 before these "
             f"(x.movedim({channel_axis}, 1)) and back after\n") if channel_axis not in (1, None) else ""
    snippet = (
        f"# after `{last.display_name}` ({channels} channels, jump {jumps} px): "
        f"{count} more 3x3 convs, RF {dims_text(a.rf for a in state.ordered_axes())} → "
        f"{dims_text(after[d] for d in sorted(after))}\n{moved}"
        f"extra = nn.Sequential(*[\n"
        f"    nn.Sequential(nn.Conv{spatial}d({channels}, {channels}, kernel_size=3, padding=1, bias=False),\n"
        f"                  nn.BatchNorm{spatial}d({channels}), nn.ReLU(inplace=True))\n"
        f"    for _ in range({count})\n"
        f"])"
    )
    return Change(f"add {count} 3×3 conv layer{'s' if count != 1 else ''} after "
                  f"`{last.display_name}`", last, after, snippet)


def _changed_module(node: LayerNode, **attrs: tuple[int, ...]) -> tuple[str, ReplaceModule | None]:
    """The snippet and, for a module, the change: the layer rebuilt with `attrs` changed."""
    if node.layer_module is None:
        settings = ", ".join(f"{k}={v}" for k, v in attrs.items())
        return f"# in the {node.type_name}(...) call of `{node.display_name}`: {settings}", None
    changed = copy.copy(node.layer_module)       # shallow: only plain attributes are replaced below
    for key, value in attrs.items():
        setattr(changed, key, value if isinstance(getattr(changed, key), tuple) else value[0])
    change = ReplaceModule(node.module_path, f"nn.{changed!r}")
    return change.snippet(), change


def _stride_change(graph: ArchGraph, rfs: Mapping[str, NodeRF], last: LayerNode, deficient: list[int],
                   target: int) -> Change | None:
    """The latest stride-1 window op (k > 1) whose stride 2 alone reaches the target."""
    for node in _candidates(graph, last, ("conv", "pool")):
        window = window_of(node)
        assert window is not None
        n = len(window.kernel)
        idx = _window_indices(rfs, node, n, rfs[last.name], deficient)
        if any(i is None or window.stride[i] != 1 or window.kernel[i] < 2 for i in idx):
            continue
        stride = tuple(2 if i in idx else s for i, s in enumerate(window.stride))
        rf = _rf_at(graph, last, {node.name: {"stride": stride}})
        if _reaches(rf, deficient, target) and _dominates(graph, node, last):
            line, change = _changed_module(node, stride=stride)
            return Change(f"stride {dims_text(stride)} in `{node.display_name}` "
                          f"(halves every later map)", node, rf, line, change)
    return None


def _dilation_change(graph: ArchGraph, rfs: Mapping[str, NodeRF], last: LayerNode, deficient: list[int],
                     target: int, max_dilation: int) -> Change | None:
    """The latest odd-kernel conv module whose smallest dilation ≤ max_dilation reaches the target."""
    for node in _candidates(graph, last, ("conv",)):
        window = window_of(node)
        if node.layer_module is None or window is None or window.transposed:
            continue
        n = len(window.kernel)
        idx = _window_indices(rfs, node, n, rfs[last.name], deficient)
        if any(i is None or window.kernel[i] < 3 or window.kernel[i] % 2 == 0 for i in idx):
            continue
        for factor in range(2, max_dilation + 1):
            dilation = tuple(max(factor, dil) if i in idx else dil for i, dil in enumerate(window.dilation))
            if dilation == window.dilation:
                continue
            padding = tuple(dil * (k - 1) // 2 for dil, k in zip(dilation, window.kernel))
            rf = _rf_at(graph, last, {node.name: {"dilation": dilation, "padding": padding}})
            if _reaches(rf, deficient, target):
                line, change = _changed_module(node, dilation=dilation, padding=padding)
                return Change(f"dilation {dims_text(dilation)} in `{node.display_name}` "
                              f"(padding {dims_text(padding)} keeps the map size)", node, rf, line, change)
    return None


def _location(graph: ArchGraph, last: LayerNode) -> LayerNode:
    """The last conv/pool feeding the last spatial map: the line a user would edit."""
    upstream = graph.ancestors(last) | {last.name}
    for node in reversed(graph.spatial_layers()):
        if node.name in upstream:
            return node
    return last


@dataclass(frozen=True)
class Empirical:
    """The measured receptive field (per axis, in the order of the map's spatial axes), or why not."""

    metric: Metric | None
    sizes: dict[int, int]          # map axis -> measured extent in input pixels
    why: str | None = None


def _measure_empirical(ctx: CheckContext, last: LayerNode, state: NodeRF) -> Empirical:
    position = {d: last.out_shape[d] // 2 for d in state.axes}
    try:
        extents = ctx.empirical_rf(last, state.axes, position)
    except MeasurementUnavailable as exc:
        return Empirical(None, {}, f"empirical receptive field not measured: {exc}")
    except Exception as exc:  # a model we cannot run in float64 must not crash the lint
        return Empirical(None, {}, "empirical receptive field not measured: the backward pass failed "
                                   f"({type(exc).__name__}: {exc})")
    # extents are keyed by the input image's axes; the map's spatial axes may sit elsewhere (a channels-last
    # map keeps them at -3, -2) but in the same order, so they are paired by position
    map_axes, image_axes = sorted(state.axes), sorted(extents)
    if len(map_axes) != len(image_axes):
        return Empirical(None, {}, f"empirical receptive field not measured: the map has {len(map_axes)} spatial "
                                   f"axes and the input {len(image_axes)}")
    sizes = {d: extents[a][1] - extents[a][0] + 1 for d, a in zip(map_axes, image_axes)}
    if any(size <= 0 for size in sizes.values()):   # no input position moved the output: nothing was measured
        return Empirical(None, {}, f"empirical receptive field not measured: no input position moved output position "
                                   f"of `{last.name}` (its input gradient is zero everywhere)")
    measured = [sizes[d] for d in map_axes]
    bound = []
    for d in sorted(state.axes):
        lo, hi = state.bound(d, position[d])
        bound.append(hi - lo + 1)
    where = dims_text(position[d] for d in sorted(position))
    return Empirical(Metric(
        "empirical receptive field (gradient)", dims_text(measured), None, "px",
        f"float64 backward pass on a copy of the model in eval mode, all-zero parameters (zero-initialised residual "
        f"branches, layer scales) made nonzero: channel sum at output position ({where}) "
        f"of `{last.name}`, nonzero input-gradient extent per axis; the formula bounds it by "
        f"{dims_text(bound)} px at that position (clipped to the input)",
    ), sizes)


def formula_failure(graph: ArchGraph, last: LayerNode, state: NodeRF) -> str | None:
    """Why the formula's receptive field at `last` cannot be trusted, or None: an op it could not follow, a last map
    that is the input itself, or 1×1 px after convolutions (a window it did not read)."""
    if state.lost_at:
        return f"the formula could not follow `{state.lost_at}`, whose geometry is unknown"
    if last.kind == "input":
        return "the formula followed no layer past the input"
    if all(a.rf == 1 for a in state.axes.values()):
        upstream = [graph[n] for n in graph.ancestors(last)]
        unread = [n for n in upstream if n.kind in ("conv", "conv_transpose", "pool")
                  and (window_of(n) is None or max(window_of(n).kernel) > 1)]
        if unread:
            return f"the formula reads 1×1 px after `{unread[0].display_name}`, a window it could not read"
    return None


def _mixes_tokens(node: LayerNode, last: LayerNode) -> bool:
    """A Linear applied across the positions of `last` (MLP-Mixer's token-mixing MLP: the map is flattened
    into tokens, transposed, and a Linear of in_features = number of positions mixes all of them)."""
    if node.kind != "linear" or not node.in_shapes or not node.in_shapes[0] or not last.out_shape:
        return False
    positions = math.prod(spatial_size(last.out_shape) or (1,))
    channels = last.out_shape[1] if len(last.out_shape) > 1 else None
    return positions > 1 and node.in_shapes[0][-1] == positions and positions != channels


def _holds_attention(node: LayerNode) -> bool:
    """A module kept whole in the graph that attends over positions inside (torch's nn.TransformerEncoderLayer,
    which fx keeps as one call like every torch.nn module)."""
    return node.op == "call_module" and node.module is not None and \
        any(isinstance(m, nn.MultiheadAttention) for m in node.module.modules())


class ReceptiveField(Rule):
    code = "AL201"
    name = "receptive-field"
    needs_operations = True   # pooling, strides of functional ops and reshapes decide the field
    summary = "the last spatial layer's receptive field covers too little of the input"
    severity = Severity.WARNING
    options = (
        Option("min_coverage", 0.5, "share of the smaller input side the receptive field must cover"),
        Option("max_dilation", 8, "largest dilation considered when suggesting a dilated convolution"),
    )

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        graph = ctx.graph
        rfs = ctx.receptive_fields
        last = last_spatial_node(graph, rfs)
        if last is None or not graph.spatial_layers():
            return
        after = [graph[n] for n in graph.descendants(last)]
        if any(n.kind in _TOKEN_MIXING or _mixes_tokens(n, last) or _holds_attention(n) for n in after):
            return  # positions mix globally after the last map (attention, ViT-like; token-mixing MLPs, Mixer-like)
        if any(n.is_opaque for n in after):
            return  # a block kept whole by a fallback tracer follows (MViT's attention blocks): its mixing is unknown
        state = rfs[last.name]
        min_side = min(a.input_size for a in state.axes.values())
        target = math.ceil(float(ctx.options["min_coverage"]) * min_side)
        failure = formula_failure(graph, last, state)
        if failure is not None:
            yield from self._judged_by_measurement(ctx, last, state, target, min_side, failure)
            return
        deficient = [d for d in sorted(state.axes) if state.axes[d].rf < target]
        if not deficient:
            return
        empirical = _measure_empirical(ctx, last, state)
        if empirical.sizes and all(empirical.sizes[d] >= target for d in deficient):
            return  # measurement decides: the measured field already covers the target (e.g. attention, gates)
        yield self._finding(ctx, last, state, deficient, target, min_side, empirical)

    def _judged_by_measurement(self, ctx: CheckContext, last: LayerNode, state: NodeRF, target: int, min_side: int,
                               failure: str) -> Iterable[Finding]:
        """The formula lost the map: only the measured receptive field may make a finding."""
        empirical = _measure_empirical(ctx, last, state)
        if not empirical.sizes:
            if ctx.show_all:
                yield Finding.at(_location(ctx.graph, last), self.code, f"receptive field not judged: {failure}",
                                 severity=Severity.INFO, unmeasured=(empirical.why or "",))
            return
        axes = sorted(state.axes)
        deficient = [d for d in axes if empirical.sizes[d] < target]
        if not deficient:
            return
        measured = dims_text(empirical.sizes[d] for d in axes)
        coverage = min(empirical.sizes[d] for d in axes) / min_side
        message = (f"measured receptive field of the last spatial map `{last.display_name}` is {measured} px on a "
                   f"{dims_text(state.axes[d].input_size for d in axes)} input: {coverage:.0%} of the smaller side, "
                   f"below the {float(ctx.options['min_coverage']):.0%} target ({target} px) along "
                   f"{', '.join(_axis_name(d, len(axes)) for d in deficient)}")
        effect = (empirical.metric,) if empirical.metric is not None else ()
        fix = Fix(f"Grow the receptive field before `{last.display_name}` to ≥ {target} px: a stride-2 "
                         f"convolution or pooling earlier, more 3×3 convolutions, or dilated convolutions.",
                         f"# the formula could not follow {failure.removeprefix('the formula could not follow ')}: "
                         f"no change was computed for this model")
        yield Finding.at(_location(ctx.graph, last), self.code, message, fix=fix, effect=effect,
                         unmeasured=(f"the receptive field after a change was not computed: {failure}",))

    def _finding(self, ctx: CheckContext, last: LayerNode, state: NodeRF, deficient: list[int], target: int,
                 min_side: int, empirical: Empirical) -> Finding:
        graph, rfs = ctx.graph, ctx.receptive_fields
        axes = state.ordered_axes()
        rf_text = dims_text(a.rf for a in axes)
        size_text = dims_text(a.input_size for a in axes)
        coverage = min(a.rf for a in axes) / min_side
        layers = _more_layers(state, last, deficient, target)
        stride = _stride_change(graph, rfs, last, deficient, target)
        dilation = _dilation_change(graph, rfs, last, deficient, target, int(ctx.options["max_dilation"]))
        changes = [c for c in (layers, stride, dilation) if c is not None]

        message = (
            f"receptive field of the last spatial map `{last.display_name}` is {rf_text} px "
            f"on a {size_text} input: {coverage:.0%} of the smaller side, below the "
            f"{float(ctx.options['min_coverage']):.0%} target ({target} px) along "
            f"{', '.join(_axis_name(d, len(axes)) for d in deficient)}; jump "
            f"{dims_text(f'{float(a.jump):g}' for a in axes)} px"
        )
        if state.global_context:
            message += ("; global-pooling gates give channel-wise whole-image context, "
                        "but features are aggregated spatially only over the receptive field")
        if state.approximations:
            message += f"; bound is conservative at {len(state.approximations)} op(s): {state.approximations[0]}"

        options_text = "; or ".join(c.description for c in changes)
        runnable = next((c for c in (dilation, stride) if c is not None and c.change is not None), None)
        snippet = "\n\n".join(c.snippet for c in ([runnable] + [c for c in changes if c is not runnable]
                                                  if runnable else changes))
        effect: list[Metric] = []
        unmeasured = []
        fixed = ctx.fixed_or_none(runnable.change if runnable else None)
        after = fixed.analyses.receptive_fields.get(last.name) if fixed else None
        after_rf = dims_text(a.rf for a in after.ordered_axes()) if after and not after.lost_at else None
        on_copy = f"; {VERIFIED} ({runnable.description})" if after_rf else ""
        effect.append(Metric("receptive field (formula)", rf_text, after_rf, "px",
                             "RF recurrence over the traced graph (union over paths)" + on_copy))
        effect.append(Metric("coverage of the smaller input side", round(coverage, 3),
                             round(min(a.rf for a in after.ordered_axes()) / min_side, 3) if after_rf else None, "",
                             f"RF / {min_side} px" + on_copy))
        if runnable is None:
            unmeasured.append("the receptive field after a change was not measured: no change of a layer module reaches "
                              "the target (more layers need a new block in the model's code)")
        if stride is None:
            options_text += " (no single stride-2 change of a layer on every path reaches it)"
        if dilation is None:
            options_text += f" (no single conv with dilation ≤ {ctx.options['max_dilation']} reaches it)"
        if empirical.metric is not None:
            effect.append(empirical.metric)
        if empirical.why:
            unmeasured.append(empirical.why)
        race = _race(ctx, runnable.change if runnable and fixed else None)
        severity = None
        if race is not None:
            effect.append(race.metric())
            message += "; " + _race_words(race)
            if race.verdict is not RaceVerdict.BETTER:
                severity = Severity.INFO   # the race, the strongest evidence, does not confirm that the field limits it
        return Finding.at(_location(graph, last), self.code, message,
                          fix=Fix(f"Grow the receptive field to ≥ {target} px: {options_text}.", snippet,
                                  runnable.change if runnable else None, race_task=RaceTask.FAR_REGIONS),
                          effect=tuple(effect), unmeasured=tuple(unmeasured), race=race, severity=severity)


def _race(ctx: CheckContext, change: Any) -> Race | None:
    """The race of the model against its wider field on a task that needs one, when the run asked for races."""
    if change is None:
        return None
    try:
        return ctx.race(change, RaceTask.FAR_REGIONS)
    except MeasurementUnavailable:
        return None     # no race asked for, or it did not run: the runner says why for a verified fix


def _race_words(race: Race) -> str:
    before, after = f"{race.final_before:.3g}", f"{race.final_after:.3g}"
    told = f"in a {race.steps}-step training race on a task that needs a wide field (which of two far patches is brighter)"
    if race.verdict is RaceVerdict.BETTER:
        return f"{told} the model reaches a loss of {before} and the wider field {after} (median of {len(race.seeds)} seeds)"
    if race.verdict is RaceVerdict.WORSE:
        return f"but {told} the wider field trains worse ({after} against {before}): the race does not confirm it (info)"
    return (f"but {told} the wider field makes no difference within seed noise ({before} against {after}): the race "
            f"does not confirm it (info)")


def _axis_name(d: int, n: int) -> str:
    names = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}.get(n)
    return names[n + d] if names else f"axis {d}"


@hookimpl
def archlint_rules() -> list[Rule]:
    return [ReceptiveField()]

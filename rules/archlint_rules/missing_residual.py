"""missing-residual (AL401): a long chain of layers that no shortcut bypasses.

What it finds
    The longest chain of parametric layers (convolutions, linear layers, attention, embeddings;
    norms, activations and pools do not count) that data passes through one after another with no
    merge in between. A merge with another tensor (addition, concatenation, a gating multiply)
    ends a chain: from there the gradient has a second route. So does a block a fallback tracer kept
    as one opaque node (the report's tracer note names it): its shortcuts are not in the graph, and
    counting straight through it would call a residual design plain. Chains longer than `max_chain`
    (10 by default) are flagged when the probe measures the backward signal fading along them
    (δ at the first layer below `max_signal_ratio`, half by default, of δ at the last): VGG-16 has
    a chain of 16 layers and its first layer gets 0.007× the signal of the last; ResNets, DenseNets,
    MobileNets, EfficientNets and transformers have no chain longer than a few layers. A long chain
    whose norms keep the signal level (LCNetV2's 12 conv-BN-ReLU layers: 5.4×; LowFormer: 0.85×)
    is not reported: the measurement contradicts the suspicion. Without the probe (`--no-probe`,
    meta device) the chain is reported from the graph alone and marked unconfirmed.

Why it matters
    Without a shortcut, the gradient that reaches the first layer of the chain is the product of
    every later layer's Jacobian. Over many layers that product shrinks or grows geometrically, so
    the early layers learn far slower or far faster than the late ones, and stacking more layers can
    make the training error worse. A shortcut y = F(x) + x gives the gradient an identity route
    around F, and lets a block that has nothing to add learn F ≈ 0.

Example
    >>> nn.Sequential(*[nn.Sequential(nn.Conv2d(64, 64, 3, padding=1), nn.ReLU()) for _ in range(12)])
    12 convolutions in a row: one chain of 12.

Fix
    Group the shape-preserving layers into residual blocks (two 3×3 convolutions and an identity
    shortcut), and use a 1×1 projection shortcut where the channel count or stride changes. The
    finding prints a block with this model's channel counts. The shortcuts it measures are the
    fix's change (`AddShortcuts`), run by the engine on a copy of the traced graph and verified; it
    has no automatic source edit, since each shortcut needs a block class in the user's code.

    Measured effect: the backward signal δ (RMS per element of ∂L/∂output, read after each
    layer's norm/activation) at the chain's first layer divided by δ at its last layer, on a
    train-mode probe of a copy of the traced graph, before and after a what-if fx rewrite that
    wires every two consecutive shape-preserving blocks of the chain as a standard residual block
    act(F(x) + x) (the add sits after the second block's norm, before its last activation).
    Weight-gradient norms are not used: a weight's gradient is δ·a, and unscaled shortcuts make
    the activations a grow with depth, so the last layer's weight gradient grows and the ratio
    falls even where more signal reaches the first layer. Measured at 64×64, batch 2: VGG-16
    0.015 -> 0.32; VGG-16-BN 0.68 -> 1.55; examples/missing_residual_bad.py (15 conv+ReLU, no
    BatchNorm, 32×32): 6.0e-9 -> 5.2e-4. On a plain chain of 15 conv-BN-ReLU layers (in the tests)
    it falls (0.0051 -> 0.0014): the shortcuts grow the residual stream and the BatchNorm after it
    divides the gradient by that scale. The finding then reports the fall and says so.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from archlint.rulekit import (
    AddShortcuts, ArchGraph, Race, RaceVerdict, CheckContext, Finding, Fix, LayerNode, MeasurementUnavailable, Metric, NodeGradient, Option, Rule,
    Severity, hookimpl, is_norm, layer_output, ratio,
)
from archlint.rulekit.provisional import RewriteError, Span

MERGE_KINDS = frozenset({"add", "cat", "mul"})


def is_merge(graph: ArchGraph, node: LayerNode) -> bool:
    """An add/cat/mul of two or more tensors: a second route for data and gradient."""
    return node.kind in MERGE_KINDS and len(graph.predecessors(node)) >= 2


def longest_unbypassed_chain(graph: ArchGraph) -> list[LayerNode]:
    """The longest sequence of parametric layers along a data path that passes through no merge."""
    length: dict[str, int] = {}
    previous: dict[str, str | None] = {}
    for node in graph.nodes():
        if is_merge(graph, node) or node.is_opaque:
            # an opaque block (kept whole by a fallback tracer) may hold shortcuts: unknown, so the chain breaks
            length[node.name], previous[node.name] = 0, None
            continue
        best = max(graph.predecessors(node), key=lambda p: length.get(p.name, 0), default=None)
        length[node.name] = (length.get(best.name, 0) if best else 0) + int(node.is_parametric)
        previous[node.name] = best.name if best and length.get(best.name, 0) > 0 else None
    if not length:
        return []
    cursor: str | None = max(length, key=lambda n: length[n])
    path: list[LayerNode] = []
    while cursor is not None:
        path.append(graph[cursor])
        cursor = previous[cursor]
    return [n for n in reversed(path) if n.is_parametric]


def _block_end(graph: ArchGraph, layer: LayerNode) -> LayerNode:
    """Where a shortcut joins a block: after the layer's norm, before its final activation (y = act(F(x) + x))."""
    end = layer_output(graph, layer)
    while end is not layer and end.kind == "act":
        end = graph.predecessors(end)[0]
    return end


def shortcut_spans(graph: ArchGraph, chain: list[LayerNode]) -> list[Span]:
    """Identity shortcuts around every two consecutive shape-preserving blocks of the chain.

    A block is a parametric layer with the norm/activation ops that follow it; it preserves the
    shape when its output (`layer_output`) has its input's shape. Each pair becomes a standard
    residual block act(F(x) + x): the add sits after the second block's norm and before its last
    activation. A run of odd length ends with a one-block span.
    """
    runs: list[list[LayerNode]] = [[]]
    for layer in chain:
        output = layer_output(graph, layer)
        if layer.in_shapes and output.out_shape is not None and layer.in_shapes[0] == output.out_shape:
            if runs[-1] and layer_output(graph, runs[-1][-1]).out_shape != layer.in_shapes[0]:
                runs.append([])  # a pool or reshape between the two changes the shape: no span may cross it
            runs[-1].append(layer)
        elif runs[-1]:
            runs.append([])
    return [Span(run[i].name, _block_end(graph, run[min(i + 1, len(run) - 1)]).name)
            for run in runs for i in range(0, len(run), 2)]


def _width(node: LayerNode) -> int | None:
    value = node.hparams.get("out_channels", node.hparams.get("out_features"))
    return int(value) if isinstance(value, int) else None


def _snippet(chain: list[LayerNode], spans: list[Span], graph: ArchGraph) -> str:
    convs = [n for n in chain if n.kind == "conv"]
    span_widths = [_width(graph[s.first]) for s in spans]
    widths = Counter(w for w in span_widths if w) or Counter(w for w in map(_width, chain) if w)
    channels = widths.most_common(1)[0][0] if widths else 64
    changes = [(n.hparams.get("in_channels", n.hparams.get("in_features")), _width(n), n.display_name)
               for n in chain if _width(n) and n.hparams.get("in_channels", n.hparams.get("in_features")) != _width(n)]
    if len(convs) >= len(chain) / 2:
        block = (
            f"class ResidualBlock(nn.Module):\n"
            f"    \"\"\"y = relu(F(x) + x): two 3x3 convs and an identity shortcut ({channels} channels here).\"\"\"\n"
            f"    def __init__(self, channels: int = {channels}):\n"
            f"        super().__init__()\n"
            f"        self.body = nn.Sequential(\n"
            f"            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),\n"
            f"            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))\n"
            f"        self.relu = nn.ReLU(inplace=True)\n\n"
            f"    def forward(self, x):\n"
            f"        return self.relu(self.body(x) + x)\n"
        )
        if changes:
            c_in, c_out, where = changes[0]
            block += (f"\n# where the width changes (e.g. `{where}`: {c_in} -> {c_out}), give the block a projection shortcut:\n"
                      f"# shortcut = nn.Sequential(nn.Conv2d({c_in}, {c_out}, 1, stride=stride, bias=False), nn.BatchNorm2d({c_out}))\n"
                      f"# y = relu(body(x) + shortcut(x))")
        return block
    return (
        f"class ResidualMLPBlock(nn.Module):\n"
        f"    \"\"\"y = x + F(x) for {channels} features.\"\"\"\n"
        f"    def __init__(self, features: int = {channels}):\n"
        f"        super().__init__()\n"
        f"        self.body = nn.Sequential(nn.LayerNorm(features), nn.Linear(features, features), nn.ReLU(),\n"
        f"                                  nn.Linear(features, features))\n\n"
        f"    def forward(self, x):\n"
        f"        return x + self.body(x)\n"
    )


def _signal(gradients: dict[str, NodeGradient], first: str, last: str) -> tuple[float | None, float | None]:
    """(δ at the first layer's output / δ at the last layer's output, δ at the first), δ = RMS of ∂L/∂output."""
    a, b = gradients.get(first), gradients.get(last)
    first_rms = a.grad_rms if a else None
    return ratio(first_rms, b.grad_rms if b else None), first_rms


def _no_gain_note(graph: ArchGraph, chain: list[LayerNode], before: float, after: float) -> str:
    """Why the measured ratio did not rise, said as what was (not) measured."""
    text = (f"the rewrite did not raise the backward signal reaching `{chain[0].display_name}` "
            f"at initialisation (ratio {before:.3g} -> {after:.3g})")
    if any(is_norm(n, batch=True) for n in graph.nodes("norm")):
        text += ("; with BatchNorm in train mode the plain chain's signal is already renormalised at every layer, and "
                 "unscaled shortcuts grow the activations that the following BatchNorm divides the gradient by; what "
                 "shortcuts improve in such a chain (how well it trains) is not measured by one probe of the untrained "
                 "model")
    return text


@dataclass(frozen=True)
class Measurement:
    """What the probe said about the chain: the metrics, what was not measured, and the signal ratio before."""

    metrics: list[Metric]
    unmeasured: list[str]
    before: float | None = None
    change: AddShortcuts | None = None


def _measure(ctx: CheckContext, chain: list[LayerNode], spans: list[Span], max_ratio: float) -> Measurement:
    """δ(first)/δ(last) on the graph as it is and, only when it is below `max_ratio` (a finding), on the rewrite."""
    first, last = (chain[0].display_name), (chain[-1].display_name)
    names = (layer_output(ctx.graph, chain[0]).name, layer_output(ctx.graph, chain[-1]).name)
    unconfirmed = "; the chain is reported from the graph alone, unconfirmed"
    try:
        gradients, method = ctx.graph_gradients(names)
    except (MeasurementUnavailable, RewriteError) as exc:
        return Measurement([], [f"gradient ratio not measured: {exc}{unconfirmed}"])
    before, first_before = _signal(gradients, *names)
    if before is None:
        return Measurement([], [f"gradient ratio not measured: no gradient reached the output of `{first}` or "
                                f"`{last}`{unconfirmed}"])
    if before >= max_ratio:
        return Measurement([], [], before)   # no finding: the rewrite's pass would measure the effect of nothing
    unmeasured: list[str] = []
    after = first_after = None
    change = _shortcuts(ctx.graph, spans)
    if change is None:
        unmeasured.append("no shape-preserving blocks in the chain: the identity-shortcut rewrite was not measured")
    else:
        try:
            # the verified fixed copy keeps the trace's node names: δ is read at the same nodes on both sides
            fixed = ctx.fixed(change)
            after, first_after = _signal(fixed.analyses.graph_gradients(fixed.graph.graph_module(), names)[0], *names)
        except MeasurementUnavailable as exc:
            unmeasured.append(f"effect of shortcuts not measured: {exc}")
    if after is not None and after <= before:
        unmeasured.append(_no_gain_note(ctx.graph, chain, before, after))
    how = (f"{method}, read at `{names[0]}` (output of `{first}`) and `{names[1]}` (output of `{last}`); after = the "
           f"same δ (same inputs, seed and loss) in a train pass of the verified fixed copy: the traced graph with "
           f"{len(spans)} identity shortcut(s) act(F(x) + x) around pairs of shape-preserving blocks")
    metrics = [Metric(f"backward signal ratio δ(first)/δ(last) along the chain (`{first}` / `{last}`)",
                      float(f"{before:.6g}"), None if after is None else float(f"{after:.6g}"), "", how)]
    if first_before is not None:
        metrics.append(Metric(f"δ at the output of the first layer `{first}`", float(f"{first_before:.6g}"),
                              None if first_after is None else float(f"{first_after:.6g}"), "", how))
    return Measurement(metrics, unmeasured, before, change)


def _shortcuts(graph: ArchGraph, spans: list[Span]) -> AddShortcuts | None:
    """The spans as a change the engine runs on the traced graph, named for the user by their layers."""
    if not spans:
        return None
    return AddShortcuts(tuple((s.first, s.last) for s in spans),
                        tuple((graph[s.first].display_name, graph[s.last].display_name) for s in spans))


def _fix(chain: list[LayerNode], spans: list[Span], graph: ArchGraph, change: AddShortcuts | None) -> Fix:
    snippet = _snippet(chain, spans, graph)
    if change is not None:
        snippet += "\n# the shortcuts measured (no automatic edit: each needs a block class like the one above):\n"
        snippet += change.snippet()
    return Fix("Make the shape-preserving stretches residual blocks (identity shortcut), with a 1x1 projection shortcut "
               "where the width or stride changes.", snippet, change)


class MissingResidual(Rule):
    code = "AL401"
    name = "missing-residual"
    needs_operations = True   # shortcuts are functional additions, which a graph of module calls does not have
    summary = "a long chain of parametric layers with no shortcut around it"
    severity = Severity.WARNING
    options = (
        Option("max_chain", 10, "longest chain of parametric layers allowed without a shortcut"),
        Option("max_signal_ratio", 0.5,
               "flag only when the measured δ(first)/δ(last) is below this (the signal fades along the chain)"),
    )

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        chain = longest_unbypassed_chain(ctx.graph)
        limit = int(ctx.options["max_chain"])
        if len(chain) <= limit:
            return
        spans = shortcut_spans(ctx.graph, chain)
        max_ratio = float(ctx.options["max_signal_ratio"])
        measured = _measure(ctx, chain, spans, max_ratio)
        race = _race(ctx, _shortcuts(ctx.graph, spans)) if measured.before is not None else None
        fades = measured.before is None or measured.before < max_ratio
        if not fades and (race is None or race.verdict is not RaceVerdict.BETTER):
            return  # measurement decides: the signal does not fade (BatchNorm chains), and no race says otherwise
        metrics, unmeasured = list(measured.metrics), list(measured.unmeasured)
        names = f"`{chain[0].display_name}` … `{chain[-1].display_name}`"
        message = (f"{len(chain)} parametric layers in a row with no shortcut around them ({names}); "
                   f"limit {limit}. {len(spans)} stretch(es) keep their shape and could become residual blocks")
        if measured.before is not None:
            message += f"; measured: the first layer gets {measured.before:.2g}× the backward signal of the last"
        severity = None
        if race is not None:
            metrics.append(race.metric())
            message += "; " + _race_words(race, fades)
            if race.verdict is not RaceVerdict.BETTER:
                severity = Severity.INFO   # the race, the strongest evidence, does not confirm the fading signal
        yield Finding.at(chain[0], self.code, message, fix=_fix(chain, spans, ctx.graph, _shortcuts(ctx.graph, spans)),
                         effect=tuple(metrics), unmeasured=tuple(unmeasured), race=race, severity=severity)


def _race(ctx: CheckContext, change: AddShortcuts | None) -> Race | None:
    """The race of the plain chain against the shortcuts, when the run asked for races."""
    if change is None:
        return None
    try:
        return ctx.race(change)
    except MeasurementUnavailable:
        return None     # no race asked for, or it did not run: the runner says why for a verified fix


def _race_words(race: Race, fades: bool) -> str:
    before, after = f"{race.final_before:.3g}", f"{race.final_after:.3g}"
    if race.verdict is RaceVerdict.BETTER:
        lead = "" if fades else "the initial backward signal does not fade, but "
        return (f"{lead}in a {race.steps}-step training race the chain reaches a loss of {before} and the same model "
                f"with shortcuts {after} (median of {len(race.seeds)} seeds): it trains worse without them")
    if race.verdict is RaceVerdict.WORSE:
        return (f"but in a {race.steps}-step training race the model with shortcuts trains worse ({after} against "
                f"{before}): the race does not confirm the suspicion (info)")
    return (f"but a {race.steps}-step training race finds no difference within seed noise ({before} against {after}): "
            f"the race does not confirm the suspicion (info)")


@hookimpl
def archlint_rules() -> list[Rule]:
    return [MissingResidual()]

"""missing-residual (AL401): a long chain of layers that no shortcut bypasses.

What it finds
    The longest chain of parametric layers (convolutions, linear layers, attention, embeddings;
    norms, activations and pools do not count) that data passes through one after another with no
    merge in between. A merge with another tensor (addition, concatenation, a gating multiply)
    ends a chain: from there the gradient has a second route. Chains longer than `max_chain`
    (10 by default) are flagged: VGG-16 has one of 16 layers; ResNets, DenseNets, MobileNets,
    EfficientNets and transformers have none longer than a few layers.

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
    finding prints a block with this model's channel counts.

    Measured effect: the ratio of the gradient norms of the chain's first and last layer, from the
    probe, before and after a what-if rewrite of a copy of the traced graph that adds an identity
    shortcut around every two consecutive shape-preserving blocks of the chain (a block is a
    parametric layer plus the norm/activation ops up to the next one). The rewritten graph is run
    by the same probe (same batch, seed and loss).

Options
    max_chain   longest chain of parametric layers allowed without a shortcut (default 10)
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from archlint import Finding, Fix, MeasurementUnavailable, Metric, Option, Rule, Severity, hookimpl
from archlint.context import CheckContext
from archlint.graph import ArchGraph, LayerNode
from archlint.probe import ProbeResult, ratio, run_probe, shared_probe
from archlint.rewrite import RewriteError, Span, add_identity_shortcuts, check_runs, owning_module

MERGE_KINDS = frozenset({"add", "cat", "mul"})


def is_merge(graph: ArchGraph, node: LayerNode) -> bool:
    """An add/cat/mul of two or more tensors: a second route for data and gradient."""
    return node.kind in MERGE_KINDS and len(graph.predecessors(node)) >= 2


def longest_unbypassed_chain(graph: ArchGraph) -> list[LayerNode]:
    """The longest sequence of parametric layers along a data path that passes through no merge."""
    length: dict[str, int] = {}
    previous: dict[str, str | None] = {}
    for node in graph.nodes():
        if is_merge(graph, node):
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


def _path_between(graph: ArchGraph, start: LayerNode, stop: LayerNode) -> LayerNode | None:
    """The node feeding `stop` on the data path from `start` (the end of start's block)."""
    feeding = [p for p in graph.predecessors(stop) if p.name == start.name or start.name in graph.ancestors(p)]
    return feeding[0] if len(feeding) == 1 else None


def shortcut_spans(graph: ArchGraph, chain: list[LayerNode]) -> list[Span]:
    """Identity shortcuts around every two consecutive shape-preserving blocks of the chain."""
    preserving: list[tuple[LayerNode, LayerNode]] = []
    for layer, following in zip(chain, chain[1:]):
        end = _path_between(graph, layer, following)
        keeps_shape = end is not None and layer.in_shapes and end.out_shape is not None \
            and layer.in_shapes[0] == end.out_shape
        preserving.append((layer, end) if keeps_shape else (layer, None))  # type: ignore[arg-type]
    spans: list[Span] = []
    run: list[tuple[LayerNode, LayerNode]] = []
    for layer, end in preserving + [(chain[-1], None)]:  # type: ignore[list-item]
        if end is not None:
            run.append((layer, end))
            continue
        spans.extend(Span(run[i][0].name, run[min(i + 1, len(run) - 1)][1].name) for i in range(0, len(run), 2))
        run = []
    return spans


def _width(node: LayerNode) -> int | None:
    value = node.hparams.get("out_channels", node.hparams.get("out_features"))
    return int(value) if isinstance(value, int) else None


def _snippet(chain: list[LayerNode], spans: list[Span], graph: ArchGraph) -> str:
    convs = [n for n in chain if n.kind == "conv"]
    span_widths = [_width(graph[s.first]) for s in spans]
    widths = Counter(w for w in span_widths if w) or Counter(w for w in map(_width, chain) if w)
    channels = widths.most_common(1)[0][0] if widths else 64
    changes = [(n.hparams.get("in_channels", n.hparams.get("in_features")), _width(n), n.module_path or n.name)
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


def _chain_ratio(probe: ProbeResult, chain: list[LayerNode]) -> tuple[float | None, str, str, float | None]:
    """(first/last gradient norm ratio, first path, last path, first layer's gradient norm)."""
    first, last = chain[0].module_path, chain[-1].module_path
    a, b = probe.layer(first), probe.layer(last)
    first_norm = a.grad_norm if a else None
    return ratio(first_norm, b.grad_norm if b else None), first, last, first_norm


def _measure(ctx: CheckContext, chain: list[LayerNode], spans: list[Span]) -> tuple[list[Metric], list[str]]:
    metrics: list[Metric] = []
    unmeasured: list[str] = []
    try:
        probe = shared_probe(ctx)
    except MeasurementUnavailable as exc:
        return [], [f"gradient ratio not measured: {exc}"]
    before, first, last, first_before = _chain_ratio(probe, chain)
    if before is None:
        return [], [f"gradient ratio not measured: the probe recorded no gradient norm for `{first}` or `{last}`"]
    after: float | None = None
    first_after: float | None = None
    if not spans:
        unmeasured.append("no shape-preserving blocks in the chain: the identity-shortcut rewrite was not measured")
    else:
        try:
            rewritten = add_identity_shortcuts(owning_module(chain[0].fx_node), spans)  # type: ignore[arg-type]
            check_runs(rewritten, ctx.example_inputs)
            after, _, _, first_after = _chain_ratio(run_probe(rewritten, ctx.example_inputs, copy_model=False), chain)
        except (RewriteError, MeasurementUnavailable) as exc:
            unmeasured.append(f"effect of shortcuts not measured: {exc}")
        except Exception as exc:  # a graph we cannot rewrite must not crash the lint
            unmeasured.append(f"effect of shortcuts not measured: the rewrite failed ({type(exc).__name__}: {exc})")
    how = (f"{probe.method}; ‖∇W‖ of each layer's weight; after = the same probe on an fx rewrite of a copy with "
           f"{len(spans)} identity shortcut(s) around pairs of shape-preserving blocks")
    metrics.append(Metric(
        f"gradient norm ratio first/last layer of the chain (`{first}` / `{last}`)", round(before, 6),
        None if after is None else round(after, 6), "", how))
    if first_before is not None:
        metrics.append(Metric(f"gradient norm of the first layer `{first}`", float(f"{first_before:.6g}"),
                              None if first_after is None else float(f"{first_after:.6g}"), "", how))
    return metrics, unmeasured


class MissingResidual(Rule):
    code = "AL401"
    name = "missing-residual"
    summary = "a long chain of parametric layers with no shortcut around it"
    severity = Severity.WARNING
    needs_probe = True
    options = (Option("max_chain", 10, "longest chain of parametric layers allowed without a shortcut"),)

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        chain = longest_unbypassed_chain(ctx.graph)
        limit = int(ctx.options["max_chain"])
        if len(chain) <= limit:
            return
        spans = shortcut_spans(ctx.graph, chain)
        metrics, unmeasured = _measure(ctx, chain, spans)
        names = f"`{chain[0].module_path or chain[0].name}` … `{chain[-1].module_path or chain[-1].name}`"
        message = (f"{len(chain)} parametric layers in a row with no shortcut around them ({names}); "
                   f"limit {limit}. {len(spans)} stretch(es) keep their shape and could become residual blocks")
        yield Finding.at(chain[0], self.code, message,
                         fix=Fix("Make the shape-preserving stretches residual blocks (identity shortcut), with a 1x1 "
                                 "projection shortcut where the width or stride changes.",
                                 _snippet(chain, spans, ctx.graph)),
                         effect=tuple(metrics), unmeasured=tuple(unmeasured))


@hookimpl
def archlint_rules() -> list[Rule]:
    return [MissingResidual()]

"""flatten-fc-head (AL301): a spatial feature map flattened into a large fully connected head.

What it finds
    A feature map that still has a spatial extent (H·W > 1, or L > 1, or D·H·W > 1) flattened into
    one vector, by `nn.Flatten`, `torch.flatten`, `x.view(x.size(0), -1)` or `x.reshape(...)`, and
    fed to a `Linear` layer (directly or through dropout, activations, norms), when that fully
    connected head holds more than `max_head_share` of the model's parameters or more than
    `max_head_params` parameters. A head that first pools globally (`x.mean((2, 3))`,
    `F.adaptive_avg_pool2d(x, 1)`, `nn.AdaptiveAvgPool2d(1)`, ...) sees a 1×1 map and is fine.
    Note that `nn.AdaptiveAvgPool2d((7, 7))`, as in VGG, still leaves a 7×7 map. A conv whose
    kernel covers the whole map (timm's VGG: a 7×7 conv over the 7×7 map, then 1×1 convs) is the
    same fully connected head in conv form and is judged the same way.

Why it matters
    Flattening C×H×W values into a Linear layer gives every spatial position of every channel its
    own weight to every hidden unit, so the first layer of the head alone costs C·H·W·hidden
    parameters. On VGG-16 the three fully connected layers hold about 89% of the 138M parameters,
    while all the convolutions together hold the remaining 11%. Those weights also tie the model
    to one input size and to where things sit in the image, and they are where such models overfit.
    Global average pooling summarises each channel into one number (no parameters), after which a
    single Linear(C, classes) does the classification: the head shrinks by orders of magnitude, and
    the network accepts any input size.

Example
    >>> nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(4),   # 32×32 -> 8×8
    ...               nn.Flatten(), nn.Linear(64 * 8 * 8, 512), nn.ReLU(), nn.Linear(512, 10))

Fix
    Replace the flatten and the fully connected layers with `nn.AdaptiveAvgPool2d(1)`,
    `nn.Flatten()` and one `nn.Linear(C, n)`, with C the channels of the flattened map and n the
    head's output size; the finding prints it with this model's numbers. Keep a hidden layer if the
    task needs one, but after the pooling, where it costs C·hidden instead of C·H·W·hidden.
    Effect reported: parameters and per-sample MACs of the current head and of the pooled head,
    counted from the layer shapes, and their share of the whole model before and after.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from archlint.rulekit import (
    VERIFIED, AppendModule, ArchGraph, CheckContext, Combined, Finding, Fix, LayerNode, Metric,
    Option, ReplaceModule,
    Rule, Severity, block_cost, conv_spec, dims_text, hookimpl, linear_params, node_macs, sequential,
    spatial_size,
)

# Kinds a head passes through between its Linear layers (and between the flatten and the first one).
_HEAD_THROUGH = ("act", "dropout", "identity", "norm")
# Kinds that can sit between the spatial producer and the flatten without changing what it is.
_MAP_THROUGH = ("act", "norm", "dropout", "identity", "add", "mul", "cat", "detach")
_MAP_PRODUCERS = ("conv", "conv_transpose", "pool", "adaptive_pool")


@dataclass(frozen=True)
class Head:
    """A flatten of a spatial map and the chain of fully connected layers it feeds; or a conv whose kernel covers
    the whole map (timm's VGG: a 7×7 conv over the 7×7 map) and the chain after it."""

    flatten: LayerNode             # the flatten, or the conv that reads the whole map
    map_shape: tuple[int, ...]     # N, C, *spatial of the flattened map
    linears: tuple[LayerNode, ...] # Linear layers, or convs that cover their whole input map
    producer: LayerNode            # the conv/pool that made the map

    @property
    def channels(self) -> int:
        return self.map_shape[1]

    @property
    def spatial(self) -> tuple[int, ...]:
        return self.map_shape[2:]

    @property
    def out_features(self) -> int:
        return _features(self.linears[-1])[1]


def _flattens_map(node: LayerNode) -> tuple[int, ...] | None:
    """The N, C, *spatial input shape if `node` turns it into N × (C·spatial) with spatial size > 1."""
    if node.kind not in ("flatten", "reshape") or not node.in_shapes or node.out_shape is None:
        return None
    shape = node.in_shapes[0]
    if shape is None or len(shape) < 3 or len(node.out_shape) != 2 or any(s < 0 for s in shape):
        return None
    if node.out_shape[0] != shape[0] or node.out_shape[1] != math.prod(shape[1:]) or math.prod(shape[2:]) <= 1:
        return None
    return tuple(shape)


def _producer(graph: ArchGraph, node: LayerNode) -> LayerNode | None:
    """The conv/pool whose N, C, *spatial map is flattened (not a token sequence from attention)."""
    found = graph.nearest(node, _MAP_PRODUCERS, direction="up", through=_MAP_THROUGH)
    return found[0] if found else None


def _has_features(node: LayerNode) -> bool:
    return "in_features" in node.hparams and "out_features" in node.hparams


def _covers_map(node: LayerNode) -> bool:
    """A dense conv whose kernel spans its whole input map: one output position, a Linear in conv form."""
    spec = conv_spec(node) if node.kind == "conv" else None
    size = spatial_size(node.in_shapes[0] if node.in_shapes else None)
    out = spatial_size(node.out_shape)
    return spec is not None and spec.groups == 1 and size is not None and out is not None \
        and tuple(spec.kernel) == tuple(size) and all(o == 1 for o in out)


def _features(node: LayerNode) -> tuple[int, int]:
    """(in, out) features of a fully connected layer: a Linear, or a conv that covers its input map."""
    if node.kind == "linear":
        return int(node.hparams["in_features"]), int(node.hparams["out_features"])
    spec = conv_spec(node)
    assert spec is not None
    return spec.in_channels * math.prod(spec.kernel), spec.out_channels


def _is_fc(node: LayerNode) -> bool:
    return (node.kind == "linear" and _has_features(node)) or _covers_map(node)


def _linear_chain(graph: ArchGraph, first: LayerNode, through: tuple[str, ...] = _HEAD_THROUGH) -> list[LayerNode]:
    """`first` and the fully connected layers after it, one after another, while the chain does not branch."""
    chain = [first]
    nxt = graph.nearest(first, ("linear", "conv"), through=through)
    while len(nxt) == 1 and _is_fc(nxt[0]):
        chain.append(nxt[0])
        nxt = graph.nearest(nxt[0], ("linear", "conv"), through=through)
    return chain


def find_heads(graph: ArchGraph) -> list[Head]:
    """Every flatten of a spatial map that feeds a chain of Linear layers (one head per Linear it feeds), and every
    conv that reads a whole map at once with the fully connected layers after it."""
    heads = []
    for node in graph.nodes(("flatten", "reshape")):
        shape = _flattens_map(node)
        producer = _producer(graph, node) if shape is not None else None
        if shape is None or producer is None:
            continue
        for first in graph.nearest(node, ("linear",), through=_HEAD_THROUGH):
            if _has_features(first) and int(first.hparams["in_features"]) == math.prod(shape[1:]):
                heads.append(Head(node, shape, tuple(_linear_chain(graph, first)), producer))
    for node in graph.nodes("conv"):
        shape = node.in_shapes[0] if node.in_shapes else None
        if not _covers_map(node) or shape is None or math.prod(shape[2:]) <= 1:
            continue
        producer = _producer(graph, node)
        if producer is not None:
            # after it the map is 1×1: pooling or flattening it changes nothing, the chain goes on through them
            chain = _linear_chain(graph, node, _HEAD_THROUGH + ("adaptive_pool", "pool", "flatten", "reshape"))
            heads.append(Head(node, tuple(shape), tuple(chain), producer))
    return heads



def _layer_text(node: LayerNode) -> str:
    features_in, features_out = _features(node)
    return f"{node.display_name} ({features_in}→{features_out})"


def _head_params(head: Head) -> int:
    # unique_params: a Linear whose weight is tied to an earlier layer costs nothing extra here
    return sum(n.unique_params for n in head.linears)


def _head_macs(head: Head) -> int | None:
    counts = [node_macs(n) for n in head.linears]
    return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)


def _bias(node: LayerNode) -> bool:
    features_in, features_out = _features(node)
    return node.params > features_in * features_out


def _snippet(head: Head) -> str:
    spatial = len(head.spatial)
    pool = f"nn.AdaptiveAvgPool{spatial}d(1)" if spatial <= 3 else "# global mean over the spatial axes"
    removed = " → ".join(_layer_text(n) for n in head.linears)
    before = head.producer.display_name
    bias = "" if _bias(head.linears[-1]) else ", bias=False"
    return (
        f"# replaces: flatten of the {head.channels}×{dims_text(head.spatial)} map from `{before}` → {removed}\n"
        f"head = nn.Sequential(\n"
        f"    {pool},   # {head.channels}×{dims_text(head.spatial)} → {head.channels}×{dims_text([1] * spatial)}\n"
        f"    nn.Flatten(),\n"
        f"    nn.Linear({head.channels}, {head.out_features}{bias}),\n"
        f")"
    )


class FlattenFcHead(Rule):
    code = "AL301"
    name = "flatten-fc-head"
    needs_operations = True   # the head is found through its flatten / pooling operations
    summary = "a spatial feature map flattened into a large fully connected head"
    severity = Severity.WARNING
    options = (
        Option("max_head_share", 0.5, "flag when the FC head holds more than this share of the model's params"),
        Option("max_head_params", 10_000_000,
               "flag when the FC head holds more than this many params, whatever the share"),
    )

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        graph = ctx.graph
        total = graph.parameter_count()
        for head in find_heads(graph):
            params = _head_params(head)
            share = params / total if total else 0.0
            if share <= float(ctx.options["max_head_share"]) and params <= int(ctx.options["max_head_params"]):
                continue
            gap_params = linear_params(head.channels, head.out_features, _bias(head.linears[-1]))
            if gap_params >= params:
                continue   # the pooled head would not be smaller: nothing to gain
            yield self._finding(ctx, head, params, total, gap_params)

    def _finding(self, ctx: CheckContext, head: Head, params: int, total: int, gap_params: int) -> Finding:
        macs = _head_macs(head)
        first = head.linears[0]
        pooled_by = ""
        if head.producer.kind == "adaptive_pool":
            pooled_by = f" (`{head.producer.display_name}` pools to {dims_text(head.spatial)}, not 1)"
        read = "is flattened into" if head.flatten.kind != "conv" else \
            f"is read whole by the {dims_text(conv_spec(head.flatten).kernel)} conv `{first.display_name}` " \
            "(a fully connected layer in conv form) as"
        message = (
            f"the {head.channels}×{dims_text(head.spatial)} map{pooled_by} {read} "
            f"{math.prod(head.map_shape[1:]):,} features feeding a {len(head.linears)}-layer fully connected head "
            f"that holds {params:,} params ({params / total:.1%} of the model's {total:,}); global average pooling + "
            f"Linear({head.channels}, {head.out_features}) needs {gap_params:,}"
        )
        path = _head_module(ctx.graph, head)
        change: ReplaceModule | Combined | None = None if path is None else ReplaceModule(path, sequential([
            f"nn.AdaptiveAvgPool{len(head.spatial)}d(1)", "nn.Flatten()",
            f"nn.Linear({head.channels}, {head.out_features})"]))
        classifier = _classifier_module(ctx.graph, head) if change is None else None
        if classifier is not None and head.producer.module is not None and head.producer.module_path:
            # the flatten is in forward: pool the map where it is made, and the classifier becomes one Linear
            path = classifier
            change = Combined((AppendModule(head.producer.module_path, f"nn.AdaptiveAvgPool{len(head.spatial)}d(1)"),
                               ReplaceModule(classifier, f"nn.Linear({head.channels}, {head.out_features})")))
        unmeasured = ["accuracy with the pooled head was not measured: it needs training"]
        if change is None:
            unmeasured.append("after the change not measured: the head's layers are not one module of their own (they "
                              "are called in forward), so no module replacement was run on a copy")
        fixed = ctx.fixed_or_none(change)
        after = block_cost(fixed.graph, path) if fixed and path else None
        total_after = fixed.graph.parameter_count() if fixed else None
        on_copy = f"; {VERIFIED}" if fixed else ""
        effect = [
            Metric("head params", params, after[0] if after else None, "",
                   "weights + biases of the head's layers in the traced graph; pooling has no params" + on_copy),
            Metric("head share of model params", round(params / total, 4),
                   round(after[0] / total_after, 4) if after and total_after else None, "",
                   "head params / all unique params" + on_copy),
            Metric("model params", total, total_after, "", "all unique parameters" + on_copy),
        ]
        if macs is None:
            unmeasured.append("head MACs not counted: a Linear layer's shapes are unknown")
        else:
            all_macs = max(1, ctx.model_macs)
            macs_after = fixed.analyses.model_macs if fixed else None
            effect.append(Metric("head MACs", macs, after[1] if after else None, "",
                                 "per sample, in·out per Linear layer; the pooling's additions are not counted" + on_copy))
            effect.append(Metric("head share of model MACs (conv + linear)", round(macs / all_macs, 4),
                                 round(after[1] / max(1, macs_after), 4) if after and macs_after is not None else None,
                                 "", f"head MACs / MACs of all conv and linear layers ({all_macs:,} before)" + on_copy))
        replaced = ", ".join(n.display_name for n in head.linears)
        summary = (f"Pool globally before the head: AdaptiveAvgPool{len(head.spatial)}d(1) → Flatten → "
                   f"Linear({head.channels}, {head.out_features}) in place of the flatten and {replaced}.")
        snippet = _snippet(head) if change is None else change.snippet()
        return Finding.at(first, self.code, message, fix=Fix(summary, snippet, change),
                          effect=tuple(effect), unmeasured=tuple(unmeasured))


def _common_parent(paths: list[str]) -> str:
    """The deepest module path that contains every path (`classifier` for `classifier.0`, `classifier.3`)."""
    common = paths[0].split(".")
    for path in paths[1:]:
        parts = path.split(".")
        while common and parts[:len(common)] != common:
            common = common[:-1]
    return ".".join(common)


def _classifier_module(graph: ArchGraph, head: Head) -> str | None:
    """The module that holds the head's fully connected layers and nothing else (VGG's `classifier`), when the flatten
    is done in forward before it."""
    paths = [n.module_path for n in head.linears]
    if not all(paths) or head.flatten.kind == "conv":
        return None
    parent = _common_parent([p.rpartition(".")[0] for p in paths])
    inside = graph.under(parent) if parent else []
    allowed = {"linear", "act", "dropout", "identity"}
    if not inside or any(n.kind not in allowed for n in inside) or inside[-1].name != head.linears[-1].name:
        return None
    return parent


def _head_module(graph: ArchGraph, head: Head) -> str | None:
    """The module that is the whole head (its flatten and fully connected layers, with activations and dropout
    between), when there is one: the fix replaces it."""
    layers = [head.flatten, *head.linears]
    paths = [n.module_path for n in layers if n.module_path]
    if not paths:
        return None
    parent = _common_parent(paths)
    if not parent or parent in {n.module_path for n in layers if n.op == "call_module"} and len(layers) > 1 \
            and parent == head.linears[-1].module_path:
        return None
    inside = graph.under(parent)
    allowed = {"flatten", "reshape", "linear", "conv", "act", "dropout", "identity", "adaptive_pool", "pool"}
    if not inside or any(n.kind not in allowed for n in inside) or head.flatten not in inside:
        return None
    return parent if inside[-1].name in {n.name for n in head.linears} or inside[-1].kind in ("act", "dropout", "identity") \
        else None


@hookimpl
def archlint_rules() -> list[Rule]:
    return [FlattenFcHead()]

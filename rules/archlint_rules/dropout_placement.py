"""dropout-placement (AL701-AL704): dropout where it does harm or does little.

What it finds
    AL701  dropout still active in eval mode: `F.dropout(x, p)` without `training=self.training`
           (its default is training=True) or with `training=True`. Measured: two eval-mode passes
           on the same input give different outputs. (error)
    AL702  dropout feeding BatchNorm (directly, or through one conv/linear layer): in training
           BatchNorm normalises with the statistics of the dropped-out input, at inference its
           running statistics meet the full input, whose variance differs. Measured: the variance
           of the BatchNorm input with dropout active, divided by the variance with dropout off (all
           else in train mode, same batch and seed). (warning)
    AL703  dropout on the model's output or logits (after the last parametric layer): it zeroes
           predictions instead of features. Measured: share of output values that are exactly 0 in
           a train pass with and without the dropout. Only logits count: the dropout acts on what
           a parametric layer (the head) produced and nothing but reshapes or activations follow it.
           An encoder's output (a residual add or a norm after the last layer, as in BERT or T5)
           is features for a head downstream, not predictions, and is not flagged. (warning)
    AL704  element-wise dropout on convolutional feature maps: neighbouring positions are
           strongly correlated, so a dropped value is recovered from its neighbours and the
           regulariser hardly regularises; `Dropout2d` drops whole channels. Measured: correlation
           of neighbouring positions at the dropout's input. (info)

Why it matters
    Dropout zeroes a random share p of activations during training and scales the rest by
    1/(1-p), so that the network cannot rely on any single unit. It must be off at inference,
    should act on features rather than predictions, and interacts badly with layers that learn
    batch statistics.

Example
    >>> def forward(self, x): return self.fc2(F.dropout(F.relu(self.fc1(x)), 0.5))   # AL701

Fix
    AL701: `F.dropout(x, p, training=self.training)` or an `nn.Dropout(p)` module. AL702: move the
    dropout after the last BatchNorm (e.g. right before the classifier), or drop it where BN
    already regularises. AL703: remove it, or move it before the last layer. AL704: `nn.Dropout2d`.
"""
from __future__ import annotations

from typing import Iterable

import torch

from archlint.rulekit import (
    ArchGraph, CheckContext, DropoutCall, Finding, Fix, LayerNode, MeasurementUnavailable, Metric, PARAMETRIC_KINDS,
    VERIFIED, FollowMode, ProbeResult, ReplaceModule, Rule, Severity, hookimpl, is_norm, no_module_to_replace,
)

_MODULE_OF = {"dropout": "Dropout", "dropout1d": "Dropout1d", "dropout2d": "Dropout2d", "dropout3d": "Dropout3d",
              "alpha_dropout": "AlphaDropout", "feature_alpha_dropout": "FeatureAlphaDropout"}

_TO_BATCHNORM = ("act", "identity", "reshape", "flatten", "pool", "adaptive_pool")


def _probe(ctx: CheckContext) -> tuple[ProbeResult | None, str | None]:
    try:
        return ctx.probe(), None
    except MeasurementUnavailable as exc:
        return None, str(exc)


def _following_mode(node: LayerNode) -> FollowMode | None:
    """The functional dropout tied to the mode: on the graph, the module of the same kind and rate."""
    function = node.type_name.rstrip("_")
    module = _MODULE_OF.get(function)
    if node.op != "call_function" or module is None or not isinstance(node.hparams.get("p"), (int, float)):
        return None
    return FollowMode(node.name, function, f"nn.{module}(p={node.hparams['p']!r})")


def _p(node: LayerNode) -> str:
    p = node.hparams.get("p")
    return f"{p:g}" if isinstance(p, (int, float)) else "p"


def _where(node: LayerNode) -> str:
    return f"`{node.module_path}`" if node.op == "call_module" else f"F.{node.type_name}(…) in `{node.module_path or 'forward'}`"


def dropout_call(probe: ProbeResult, graph: ArchGraph, node: LayerNode) -> DropoutCall | None:
    """The probe's record of this graph dropout (module path, or n-th functional call in its module)."""
    if node.layer_module is not None:     # a module call, or the op an nn.Dropout ran (an export graph's)
        return next((d for d in probe.dropouts if d.is_module and d.module_path == node.module_path), None)
    same = [n for n in graph.nodes("dropout") if n.op != "call_module" and n.module_path == node.module_path
            and n.type_name == node.type_name]
    index = same.index(node) if node in same else 0
    return next((d for d in probe.dropouts if not d.is_module and d.module_path == node.module_path
                 and d.function == node.type_name and d.call == index), None)


def batchnorm_after(graph: ArchGraph, node: LayerNode) -> LayerNode | None:
    """A BatchNorm reached from the dropout directly or through one conv/linear layer."""
    for hop in (_TO_BATCHNORM, _TO_BATCHNORM + ("conv", "linear", "conv_transpose")):
        found = [n for n in graph.nearest(node, ["norm"], through=hop) if is_norm(n, batch=True)]
        if found:
            return found[0]
    return None


def zero_share(outputs: list[torch.Tensor] | None) -> float | None:
    values = [o for o in outputs or [] if o.is_floating_point() and o.numel()]
    if not values:
        return None
    return sum(float((o == 0).sum()) for o in values) / sum(o.numel() for o in values)


class DropoutPlacement(Rule):
    code = "AL701"
    name = "dropout-placement"
    summary = "dropout active in eval mode"
    severity = Severity.WARNING
    codes = {
        "AL702": "dropout feeding BatchNorm (train/eval variance shift)",
        "AL703": "dropout on the model's output or logits",
        "AL704": "element-wise Dropout on convolutional feature maps (Dropout2d is meant)",
    }

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        dropouts = [n for n in ctx.graph.nodes("dropout") if n.hparams.get("p") != 0]
        if not dropouts:
            return
        probe, why = _probe(ctx)
        for node in dropouts:
            if node.hparams.get("active_in_eval"):
                yield self._active_in_eval(ctx, node, probe, why)
            bn = batchnorm_after(ctx.graph, node)
            if bn is not None:
                yield self._feeds_batchnorm(node, bn, probe, why)
            if not any(ctx.graph[d].is_parametric for d in ctx.graph.descendants(node)) and \
                    self._on_logits(ctx.graph, node):
                finding = self._on_output(ctx, node, probe, why)
                if finding is not None:
                    yield finding
            elif self._on_conv_map(ctx.graph, node):
                yield self._elementwise_on_maps(ctx.graph, node, probe, why)

    def _active_in_eval(self, ctx: CheckContext, node: LayerNode, probe: ProbeResult | None,
                        why: str | None) -> Finding:
        message = (f"{_where(node)} drops {_p(node)} of the values in eval mode too: F.{node.type_name} defaults to "
                   f"training=True (here training={node.hparams.get('training_arg', 'True')})")
        effect: tuple[Metric, ...] = ()
        unmeasured = [f"eval-mode randomness not measured: {why}"] if why else []
        change = _following_mode(node)
        if probe is not None and probe.eval_outputs[0]:
            diff = probe.eval_difference()
            after, how = self._eval_difference_fixed(ctx, change)
            effect = (Metric("max |difference| between two eval-mode passes on the same input", float(f"{diff:.6g}"),
                             after, "", f"{probe.method}; then model.eval() and two forward passes, same input{how}"),)
            message += f"; two eval passes on the same input differ by up to {diff:.3g}"
        elif probe is not None:
            unmeasured.append("eval-mode passes failed, so the randomness at inference was not measured")
        snippet = (f"x = F.{node.type_name}(x, p={_p(node)}, training=self.training)\n"
                   f"# or in __init__: self.drop = nn.Dropout({_p(node)}); in forward: x = self.drop(x)")
        return Finding.at(node, "AL701", message, severity=Severity.ERROR,
                          fix=Fix("Tie the dropout to the module's mode.", snippet, change),
                          effect=effect, unmeasured=tuple(unmeasured))

    @staticmethod
    def _eval_difference_fixed(ctx: CheckContext, change: FollowMode | None) -> tuple[float | None, str]:
        """The same two eval passes on the verified copy whose dropout follows the mode."""
        fixed = ctx.fixed_or_none(change)
        if fixed is None:
            return None, ""
        try:
            after = fixed.analyses.probe().eval_difference()
        except MeasurementUnavailable:
            return None, ""
        return float(f"{after:.6g}"), f"; {VERIFIED} (the dropout following the mode)"

    def _feeds_batchnorm(self, node: LayerNode, bn: LayerNode, probe: ProbeResult | None, why: str | None) -> Finding:
        message = (f"{_where(node)} (p={_p(node)}) feeds BatchNorm `{bn.module_path}`: its batch statistics are "
                   f"learned on dropped-out inputs, its running statistics then meet full inputs at inference")
        effect: tuple[Metric, ...] = ()
        unmeasured = [f"variance shift not measured: {why}"] if why else []
        record = None if probe is None else next(
            (b for b in probe.batchnorm_inputs if b.module_path == bn.module_path), None)
        if record is not None and record.variance_without_dropout is not None:
            with_dropout = float(record.variance_with_dropout.mean())
            without = float(record.variance_without_dropout.mean())
            if without > 0:
                shift = with_dropout / without
                message += f"; its input variance is {shift:.3g}× larger with dropout on than off"
                effect = (Metric(f"BatchNorm `{bn.module_path}` input variance, dropout on / off", float(f"{shift:.6g}"),
                                 None, "×", f"{probe.method}; mean over channels of the per-channel variance of the "  # type: ignore[union-attr]
                                            f"BN input, train mode, with every dropout active vs replaced by identity"),)
        elif probe is not None:
            unmeasured.append(f"variance shift not measured: the probe saw no input of `{bn.module_path}` "
                              f"(a functional batch_norm, or not run in train mode)")
        change = _removal(node)
        unmeasured.append("the variance shift after the fix is not measured: with the dropout removed there is no "
                          "dropout before the BatchNorm to compare with")
        snippet = (f"# before: ... nn.Dropout({_p(node)}), <layer>, nn.{bn.type_name}(...)\n"
                   f"# after:  ... <layer>, nn.{bn.type_name}(...), ..., nn.Dropout({_p(node)}), classifier")
        if change is not None:
            snippet += f"\n# or remove it here:\n{change.snippet()}"
        return Finding.at(node, "AL702", message,
                          fix=Fix(f"Move the dropout after the last BatchNorm (e.g. just before the classifier), or "
                                  f"remove it here: BatchNorm `{bn.module_path}` already regularises.", snippet, change),
                          effect=effect, unmeasured=tuple(unmeasured))

    def _on_output(self, ctx: CheckContext, node: LayerNode, probe: ProbeResult | None, why: str | None) -> Finding | None:
        message = (f"{_where(node)} (p={_p(node)}) comes after the last parametric layer: it zeroes the model's "
                   f"outputs/logits, not features")
        effect: tuple[Metric, ...] = ()
        unmeasured = [f"zeroed outputs not measured: {why}"] if why else []
        if probe is not None:
            before, after = zero_share(probe.train_outputs), zero_share(probe.outputs_without_dropout)
            if before is not None and after is not None and before <= after:
                # measurement decides: the outputs are no more often zero with dropout on (a residual add or
                # a norm after it, as after an encoder's last block): it does not zero outputs
                return None
        change = _removal(node)
        if probe is not None:
            before = zero_share(probe.train_outputs)
            fixed = ctx.fixed_or_none(change)
            try:
                fixed_after = zero_share(fixed.analyses.probe().train_outputs) if fixed else None
            except MeasurementUnavailable:
                fixed_after = None
            if before is not None:
                effect = (Metric("share of output values that are exactly 0 in training", round(before, 4),
                                 None if fixed_after is None else round(fixed_after, 4), "share",
                                 f"{probe.method}; {VERIFIED} (the dropout removed)"),)
        snippet = (f"self.head = nn.Sequential(nn.Dropout({_p(node)}), nn.Linear(features, classes))"
                   f"   # dropout before the classifier, not after it")
        if change is not None:
            snippet = f"{change.snippet()}   # remove it\n# or: {snippet}"
        return Finding.at(node, "AL703", message,
                          fix=Fix("Remove this dropout, or move it before the last layer (on the features).", snippet,
                                  change),
                          effect=effect, unmeasured=tuple(unmeasured))

    @staticmethod
    def _on_logits(graph: ArchGraph, node: LayerNode) -> bool:
        """The dropout acts on a head's output: its input comes from a parametric layer through activations or
        reshapes only, and no merge or norm lies between it and the output (those make encoder features)."""
        merges_and_norms = {"add", "cat", "mul", "norm"}
        producers = graph.nearest(node, [*PARAMETRIC_KINDS, "matmul", *merges_and_norms], direction="up",
                                  through=("act", "identity", "reshape", "flatten", "dropout"))
        if not producers or not all(p.is_parametric for p in producers):
            return False
        return not any(graph[d].kind in merges_and_norms for d in graph.descendants(node))

    @staticmethod
    def _on_conv_map(graph: ArchGraph, node: LayerNode) -> bool:
        if node.hparams.get("channelwise") or not node.in_shapes or node.in_shapes[0] is None:
            return False
        if len(node.in_shapes[0]) < 3:
            return False
        if all(size == 1 for size in node.in_shapes[0][2:]):
            return False   # a 1×1 map (after global pooling) has no neighbours: element-wise is channel-wise
        producers = graph.nearest(node, ["conv", "conv_transpose", "pool", "linear", "attention", "matmul"],
                                  direction="up", through=("act", "norm", "identity"))
        return bool(producers) and all(p.kind in ("conv", "conv_transpose", "pool") for p in producers)

    def _elementwise_on_maps(self, graph: ArchGraph, node: LayerNode, probe: ProbeResult | None,
                             why: str | None) -> Finding:
        shape = node.in_shapes[0]
        dims = len(shape) - 2  # type: ignore[arg-type]
        channelwise = {1: "Dropout1d", 2: "Dropout2d", 3: "Dropout3d"}.get(dims, "Dropout2d")
        message = (f"{_where(node)} drops single values of a {dims}-D feature map {list(shape)}: on real data "  # type: ignore[arg-type]
                   f"neighbouring positions are correlated, so a dropped value is largely recoverable from its "
                   f"neighbours; {channelwise} drops whole channels")
        effect: tuple[Metric, ...] = ()
        unmeasured = [f"neighbour correlation not measured: {why}"] if why else []
        call = dropout_call(probe, graph, node) if probe is not None else None
        if call is not None and call.neighbour_correlation is not None:
            effect = (Metric("correlation of neighbouring positions at the dropout input",
                             round(call.neighbour_correlation, 4), None, "r",
                             f"{probe.method}; Pearson r between each value and its neighbour on the last axis, on the "
                             f"example inputs (random inputs show less correlation than real data)"),)  # type: ignore[union-attr]
        change = ReplaceModule(node.module_path, f"nn.{channelwise}(p={_p(node)})") if node.layer_module is not None \
            else None
        if change is None:
            unmeasured.append(no_module_to_replace(node.type_name))
        snippet = (f"{change.snippet()}   # instead of nn.Dropout on conv maps" if change is not None else
                   f"x = F.dropout{dims}d(x, p={_p(node)}, training=self.training)   # instead of F.dropout on conv maps")
        return Finding.at(node, "AL704", message, severity=Severity.INFO,
                          fix=Fix(f"Drop whole channels: nn.{channelwise}.", snippet, change),
                          effect=effect, unmeasured=tuple(unmeasured))


def _removal(node: LayerNode) -> ReplaceModule | None:
    """The dropout module removed (an identity in its place); a functional call has no module to replace."""
    return ReplaceModule(node.module_path, "nn.Identity()") if node.layer_module is not None else None


@hookimpl
def archlint_rules() -> list[Rule]:
    return [DropoutPlacement()]

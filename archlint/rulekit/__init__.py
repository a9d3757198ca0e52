"""The rule API: everything a rule needs, built-in or third-party. A rule imports from here, from
`archlint.rulekit.provisional` when it must, and from torch; nothing else of archlint's::

    from archlint.rulekit import CheckContext, Finding, Fix, Metric, Rule, hookimpl

This module is the **stable** tier: its names keep their meaning and signatures across releases.
`archlint.rulekit.provisional` holds the engine's own measuring functions that built-in rules use for
what-ifs the context does not offer yet; they may change.

What it offers, by what a rule does:

* **Report** — `Rule`, `Option`, `Finding` (`Finding.at(node, code, message, fix=..., effect=...,
  unmeasured=...)`), `Fix`, `Metric`, `Severity`, and `hookimpl` to register the rule
  (`@hookimpl def archlint_rules(): return [MyRule()]`).
* **Read the graph** — `ctx.graph` is an `ArchGraph` of `LayerNode`s (module path, `kind` a `NodeKind`,
  params, hparams, shapes, construction site, `display_name`); `PARAMETRIC_KINDS`, `SPATIAL_KINDS`,
  `is_norm(node, batch=True)`, `layer_output(graph, node)` (a layer with its norm and activation).
* **Price a layer** — `conv_spec(node)`, `chain_cost`, `chain_receptive_field`, `linear_params`,
  `linear_macs`, `node_macs`, `spatial_size`; the model's total is `ctx.model_macs`.
* **Measure** — the context's methods, each computed once per model: `ctx.receptive_fields` (per node:
  `NodeRF` of `AxisRF`s; `last_spatial_node`, `window_of`), `ctx.empirical_rf(node, axes)`, `ctx.probe()`
  (`ProbeResult`), `ctx.graph_gradients(names)` (the backward signal δ at graph nodes, `NodeGradient`).
  What-ifs: make a copy (`ctx.copy_model()`, `ctx.copy_sharing_large_weights()`) or a rewrite of
  `ctx.graph_module`, and measure it with `ctx.probe_copy(copy)` or `ctx.graph_gradients(names, rewritten)`.
  A measurement that cannot be made raises `MeasurementUnavailable`: say so in `unmeasured`.
* **Write a fix** — `code_path("features.3")` -> `model.features[3]`, `dims_text((3, 3))` -> `3×3`,
  `sequential([...])`, `ratio(a, b)` (None when either is missing or b is 0).
* **Make the fix run** — give `Fix(summary, change.snippet(), change)` a change as data (`ReplaceModule(path,
  expression)`, `Reinitialise(parameter, function, arguments)`, `AppendModule`, `RemoveModule`, `Combined`, `FollowMode`;
  `AddShortcuts(spans)`, a rewrite of the traced graph); measure every
  after-number on `ctx.fixed_or_none(change)` (the verified fixed copy: `.graph`, `.analyses`; `block_cost`,
  `block_window` give the same measure on both sides) and print none without it. The runner marks the fix verified or
  says why not, and makes the edit of the user's source when the change is one call.
* **Decide with training** — with `--race`, `ctx.race(change)` trains the model as it is against the verified fixed
  copy (`Race`: curves, median final losses, seed spread, `RaceVerdict`); a rule whose lesson is about training lets
  it decide (missing-residual). Without `--race` it raises `MeasurementUnavailable`.
"""
from __future__ import annotations

from archlint.analysis.cost import (
    ChainCost,
    ConvSpec,
    block_cost,
    chain_cost,
    chain_receptive_field,
    conv_spec,
    linear_macs,
    linear_params,
    node_macs,
    spatial_size,
)
from archlint.analysis.fixes import VERIFIED, FixedModel
from archlint.analysis.graph import (
    NODE_KINDS,
    PARAMETRIC_KINDS,
    SPATIAL_KINDS,
    ArchGraph,
    LayerNode,
    NodeKind,
    is_norm,
    layer_output,
)
from archlint.analysis.measurement import MeasurementUnavailable
from archlint.analysis.probe.gradients import NodeGradient
from archlint.analysis.probe.results import (
    SATURATION_BOUND,
    ActivationStats,
    DropoutCall,
    LayerGradient,
    NonFiniteValues,
    ProbeResult,
    ratio,
)
from archlint.analysis.receptive_field import (
    AxisRF,
    NodeRF,
    block_window,
    last_spatial_node,
    window_of,
)
from archlint.plugin.changes import (
    AddShortcuts, AppendModule, Change, Combined, FollowMode, Reinitialise, RemoveModule, ReplaceModule,
)
from archlint.plugin.findings import Finding, Fix, Metric, Race, RaceTask, RaceVerdict, Severity
from archlint.plugin.hookspecs import hookimpl
from archlint.plugin.rule import Option, Rule
from archlint.rulekit.context import CheckContext
from archlint.rulekit.wording import code_path, dims_text, no_module_to_replace, sequential

__all__ = [
    "Race", "RaceTask", "RaceVerdict", "VERIFIED", "no_module_to_replace", "sequential", "AddShortcuts", "AppendModule", "Change", "Combined", "FixedModel", "FollowMode",
    "Reinitialise", "RemoveModule", "ReplaceModule", "block_cost", "block_window",
    "ActivationStats", "ArchGraph", "AxisRF", "ChainCost", "CheckContext", "ConvSpec", "DropoutCall", "Finding", "Fix",
    "LayerGradient", "LayerNode", "MeasurementUnavailable", "Metric", "NODE_KINDS", "NodeGradient", "NodeKind",
    "NodeRF", "NonFiniteValues", "Option", "PARAMETRIC_KINDS", "ProbeResult", "Rule", "SATURATION_BOUND",
    "SPATIAL_KINDS", "Severity", "chain_cost", "chain_receptive_field", "code_path", "conv_spec", "dims_text",
    "hookimpl", "is_norm", "last_spatial_node", "layer_output", "linear_macs", "linear_params", "node_macs", "ratio",
    "spatial_size", "window_of",
]

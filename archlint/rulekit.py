"""Everything a rule needs, in one module: the surface for rule authors, built-in or third-party.

A rule imports from here and from torch, nothing else of archlint's::

    from archlint.rulekit import CheckContext, Finding, Fix, Metric, Rule, hookimpl

What it offers, by what a rule does:

* **Report** — `Rule`, `Option`, `Finding` (`Finding.at(node, code, message, fix=..., effect=...,
  unmeasured=...)`), `Fix`, `Metric`, `Severity`, and `hookimpl` to register the rule
  (`@hookimpl def archlint_rules(): return [MyRule()]`).
* **Read the graph** — `ctx.graph` is an `ArchGraph` of `LayerNode`s (module path, `kind` from
  `NODE_KINDS`, params, hparams, shapes, construction site); `PARAMETRIC_KINDS`, `SPATIAL_KINDS`.
* **Price a layer** — `conv_spec(node)`, `chain_cost`, `chain_receptive_field`, `linear_params`,
  `linear_macs`, `node_macs`, `spatial_size`; the model's total is `ctx.analyses.model_macs`.
* **Receptive field** — `ctx.analyses.receptive_fields` (per node: `NodeRF` of `AxisRF`s),
  `last_spatial_node`, `window_of`, `empirical_rf`, `compute_receptive_fields` (for what-if overrides).
* **Measure** — `ctx.probe()` (the shared forward/backward probe: `ProbeResult`), and
  `ctx.analyses.graph_gradients(gm, names)` (the backward signal δ at graph nodes, `NodeGradient`).
  A measurement that cannot be made raises `MeasurementUnavailable`: say so in `unmeasured`.
  What-ifs run on copies: `ctx.copy_model()`, `copy_sharing_large_weights`, `run_probe` on the copy,
  `add_identity_shortcuts` (an fx rewrite) measured with `graph_gradients`.
* **Write a fix** — `code_path("features.3")` -> `model.features[3]`, `dims_text((3, 3))` -> `3×3`.
"""
from __future__ import annotations

from typing import Iterable

from archlint.analysis.cost import (
    ChainCost, ConvSpec, chain_cost, chain_receptive_field, conv_spec, linear_macs, linear_params, model_macs,
    node_macs, spatial_size,
)
from archlint.analysis.graph import NODE_KINDS, PARAMETRIC_KINDS, SPATIAL_KINDS, ArchGraph, LayerNode
from archlint.analysis.probe import (
    DEFAULT_MAX_BATCH, SATURATION_BOUND, ActivationStats, DropoutCall, LayerGradient, NodeGradient, NonFiniteValues,
    ProbeResult, graph_gradients, layer_output, ratio, run_probe,
)
from archlint.analysis.receptive_field import (
    AxisRF, NodeRF, compute_receptive_fields, empirical_rf, last_spatial_node, window_of,
)
from archlint.analysis.rewrite import RewriteError, Span, add_identity_shortcuts, copy_sharing_large_weights, owning_module
from archlint.load.construction import construction_site
from archlint.plugin.context import CheckContext, MeasurementUnavailable
from archlint.plugin.findings import Finding, Fix, Metric, Severity
from archlint.plugin.hookspecs import hookimpl
from archlint.plugin.rule import Option, Rule


def code_path(module_path: str, root: str = "model") -> str:
    """How the user's code reaches a submodule: `features.3.conv` -> `model.features[3].conv`."""
    text = root
    for part in module_path.split("."):
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


def dims_text(values: Iterable[object]) -> str:
    """Sizes as people write them: (7, 7) -> `7×7`."""
    return "×".join(str(v) for v in values)


__all__ = [
    "ActivationStats", "ArchGraph", "AxisRF", "ChainCost", "CheckContext", "ConvSpec", "DEFAULT_MAX_BATCH",
    "DropoutCall", "Finding", "Fix", "LayerNode", "MeasurementUnavailable", "Metric", "NODE_KINDS", "NodeGradient",
    "LayerGradient", "NodeRF", "NonFiniteValues", "Option", "PARAMETRIC_KINDS", "ProbeResult", "RewriteError", "Rule", "SATURATION_BOUND",
    "SPATIAL_KINDS", "Severity", "Span", "add_identity_shortcuts", "chain_cost", "chain_receptive_field",
    "code_path", "compute_receptive_fields", "construction_site", "conv_spec", "copy_sharing_large_weights",
    "dims_text", "empirical_rf", "graph_gradients", "hookimpl", "last_spatial_node", "layer_output", "linear_macs", "linear_params",
    "model_macs", "node_macs", "owning_module", "ratio", "run_probe", "spatial_size", "window_of",
]

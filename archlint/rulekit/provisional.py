"""The provisional tier of the rule API: engine functions built-in rules use for what-ifs the context does not
offer yet (a probe with other settings, receptive fields with overridden layers, fx rewrites). They work, are
tested, and may change between releases; prefer the context's methods (`archlint.rulekit`) where one exists.
"""
from __future__ import annotations

from archlint.analysis.cost import model_macs
from archlint.analysis.probe.gradients import graph_gradients
from archlint.analysis.probe.passes import run_probe
from archlint.analysis.probe.results import DEFAULT_MAX_BATCH
from archlint.analysis.receptive_field import compute_receptive_fields, empirical_rf
from archlint.analysis.rewrite import (
    RewriteError, Span, add_identity_shortcuts, copy_sharing_large_weights, own_parameter, owning_module,
)
from archlint.load.construction import construction_site

__all__ = [
    "DEFAULT_MAX_BATCH", "RewriteError", "Span", "add_identity_shortcuts", "compute_receptive_fields",
    "construction_site", "copy_sharing_large_weights", "empirical_rf", "graph_gradients", "model_macs",
    "own_parameter", "owning_module", "run_probe",
]

"""A test-only rule plugin: flags every Linear layer with more than `max_params` parameters.

XT901 big-linear (warning): more than max_params parameters; sub-code XT902 when more than 10x.
Loaded with `archlint check -p archlint_test_plugin` or `archlint.check(..., plugins=(module,))`.
"""
from __future__ import annotations

from archlint import Finding, Fix, Metric, Option, Rule, Severity, hookimpl


class BigLinear(Rule):
    """big-linear: a Linear layer with more parameters than `max_params` (test rule)."""

    code = "XT901"
    name = "big-linear"
    summary = "a Linear layer with more parameters than max_params"
    severity = Severity.WARNING
    options = (Option("max_params", 1000, "flag Linear layers with more parameters than this"),)
    codes = {"XT902": "a Linear layer with more than 10x max_params parameters"}

    def check(self, ctx):
        limit = ctx.options["max_params"]
        for node in ctx.graph.nodes("linear"):
            if node.params <= limit:
                continue
            code = "XT902" if node.params > 10 * limit else "XT901"
            yield Finding.at(node, code, f"Linear {node.module_path} has {node.params} parameters (limit {limit})",
                             fix=Fix("use fewer features", f"nn.Linear({node.hparams.get('in_features')}, ...)"),
                             effect=(Metric("params", node.params, None, "", "counted from the layer"),))


@hookimpl
def archlint_rules():
    return [BigLinear()]

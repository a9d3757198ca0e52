"""wide-linear (XW101): a Linear layer with more inputs than `max_in_features`.

What it finds
    An nn.Linear (or F.linear with a weight) that reads more than `max_in_features` features.

Why it matters
    A layer that wide usually reads a flattened feature map; its weight matrix grows with the map
    size and it holds most of the model's parameters.

Example
    `nn.Linear(512 * 7 * 7, 4096)` in a VGG head: 25,088 inputs, 102,764,544 parameters.

Fix
    Pool the map to one value per channel before the layer (`nn.AdaptiveAvgPool2d(1)`), so the layer
    reads the channels only.
"""
from __future__ import annotations

from archlint.rulekit import CheckContext, Finding, Fix, Metric, Option, Rule, Severity, code_path, hookimpl


class WideLinear(Rule):
    code = "XW101"
    name = "wide-linear"
    summary = "a Linear layer with very many inputs"
    severity = Severity.WARNING
    options = (Option("max_in_features", 8192, "flag a Linear layer reading more features than this"),)

    def check(self, ctx: CheckContext):
        limit = ctx.options["max_in_features"]
        total = ctx.graph.parameter_count()
        for node in ctx.graph.nodes("linear"):
            width = node.hparams.get("in_features")
            if width is None or width <= limit:
                continue
            yield Finding.at(
                node, self.code, f"Linear reads {width:,} features (limit {limit:,}) and holds {node.params:,} "
                                 f"of the model's {total:,} parameters",
                fix=Fix("Pool the feature map to one value per channel before this layer.",
                        f"# before {code_path(node.module_path)}: x = torch.flatten(nn.AdaptiveAvgPool2d(1)(x), 1)"),
                effect=(Metric("layer parameters", node.params, None, "", "counted from the layer's weight and bias"),),
                unmeasured=("the width after pooling depends on the channel count, which this example rule does "
                            "not read",),
            )


@hookimpl
def archlint_rules():
    return [WideLinear()]

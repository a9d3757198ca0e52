"""Helpers shared by the integration tests: a small rule plugin with known, countable findings.

`KernelCensus` (AL990) flags every convolution whose kernel is larger than 3, with the parameter
count of the layer and of the 3x3 layer that would replace it (computed from the layer's own
shape), so formats and baselines are exercised on real findings without depending on which
built-in rules are installed.
"""
from __future__ import annotations

from archlint import Finding, Fix, Metric, Rule, Severity, hookimpl

CENSUS_CODE = "AL990"


def conv_params(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


class KernelCensus(Rule):
    """kernel-census (AL990): test rule. What it finds: convolutions with kernels above 3x3."""

    code = CENSUS_CODE
    name = "kernel-census"
    summary = "convolution kernel larger than 3x3 (test rule)"
    severity = Severity.WARNING

    def check(self, ctx):
        for node in ctx.graph.nodes("conv"):
            k = node.hparams["kernel_size"][0]
            if k <= 3:
                continue
            cin, cout = node.hparams["in_channels"], node.hparams["out_channels"]
            bias = node.module.bias is not None
            before, after = conv_params(cin, cout, k, bias), conv_params(cin, cout, 3, bias)
            yield Finding.at(
                node, self.code, f"{k}x{k} convolution {cin}->{cout}",
                fix=Fix("use a 3x3 kernel", f"nn.Conv2d({cin}, {cout}, 3, padding=1)"),
                effect=(Metric("params", before, after, "", "counted from the layer's weight shape"),),
            )


class CensusPlugin:
    """Register with archlint.check(..., plugins=(CensusPlugin(),))."""

    @hookimpl
    def archlint_rules(self):
        return [KernelCensus()]

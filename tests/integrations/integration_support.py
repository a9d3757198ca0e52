"""Helpers shared by the integration tests: a small rule plugin with known, countable findings.

`KernelCensus` (XT950) flags every convolution whose kernel is larger than 3, with the parameter
count of the layer and of the 3x3 layer that would replace it (computed from the layer's own
shape), so formats and baselines are exercised on real findings without depending on which
built-in rules are installed.
"""
from __future__ import annotations

from archlint import Finding, Fix, Metric, Rule, Severity, hookimpl

CENSUS_CODE = "XT950"


def conv_params(cin: int, cout: int, k: int, bias: bool = True) -> int:
    return cin * cout * k * k + (cout if bias else 0)


class KernelCensus(Rule):
    """kernel-census (XT950): test rule. What it finds: convolutions with kernels above 3x3."""

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


def import_file(path, module_name: str):
    """Import a user's model file the way a project would (fresh module object each time)."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def line_of(source: str, marker: str) -> int:
    """1-based line of `# MARKER` in `source`, found by plain text search."""
    for number, text in enumerate(source.splitlines(), start=1):
        if f"# {marker}" in text:
            return number
    raise AssertionError(f"marker {marker} not in source")


# A small user model with two large kernels (7x7 stem, 5x5 in a helper) and one 3x3.
USER_MODEL = '''\
import torch
from torch import nn


def conv(cin, cout, k):
    return nn.Conv2d(cin, cout, k, padding=k // 2)


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 7, padding=3)  # STEM
        self.mid = conv(8, 16, 5)  # MID
        self.last = conv(16, 16, 3)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.last(torch.relu(self.mid(torch.relu(self.stem(x)))))
        return self.fc(torch.flatten(self.pool(x), 1))
'''


def write_cli_project(root, source: str = USER_MODEL):
    """A project for `archlint check -p census_rules`: models/net.py, pyproject selecting XT950, the plugin module."""
    from pathlib import Path

    root = Path(root)
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "models" / "net.py").write_text(source)
    (root / "pyproject.toml").write_text('[tool.archlint]\nselect = ["XT950"]\n')
    support = Path(__file__).read_text()
    (root / "census_rules.py").write_text(support + "\n\n@hookimpl\ndef archlint_rules():\n    return [KernelCensus()]\n")
    return root

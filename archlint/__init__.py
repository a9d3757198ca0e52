"""archlint: an architecture linter for PyTorch models.

`archlint.check(model, inputs)` lints a built model; rule authors import from `archlint.rulekit`.
Importing `archlint` does not import torch (it is loaded as a pytest plugin in other projects).
"""
from __future__ import annotations

from typing import Any

from archlint.plugin.findings import Finding, Fix, Metric, Severity
from archlint.plugin.hookspecs import hookimpl
from archlint.plugin.results import ModelReport, Report
from archlint.plugin.rule import Option, Rule

__version__ = "0.1.0"


def check(model: Any, example_inputs: Any = None, *, name: str | None = None, **settings: Any) -> Report:
    """Lint a built model: `archlint.check(MyNet(), torch.randn(2, 3, 64, 64))` -> Report.

    `example_inputs` is a tensor or a tuple of them; when None they are inferred from the first
    layer. Keyword settings are those of `[tool.archlint]` with underscores (select, extend_select,
    ignore, severity, rule_options, probe, device, show_all); a misspelled one is a ValueError.
    `plugins=(module, ...)` adds rule plugins for this call; `plots=True` collects the data the HTML
    format draws (`ModelReport.plots`).
    """
    from archlint.api import check_built_model

    return check_built_model(model, example_inputs, name=name, **settings)


def __getattr__(name: str) -> Any:
    # The context imports torch: keep `import archlint` to the names above until one of these is asked for.
    if name in ("CheckContext", "MeasurementUnavailable"):
        from archlint.rulekit import context

        return getattr(context, name)
    raise AttributeError(f"module 'archlint' has no attribute {name!r}")


__all__ = [
    "check", "hookimpl", "Rule", "Option", "Finding", "Fix", "Metric", "Severity", "Report",
    "ModelReport", "CheckContext", "MeasurementUnavailable", "__version__", "load_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext archlint`: the `%archlint` and `%%archlint` magics (archlint.integrations.jupyter)."""
    from archlint.integrations.jupyter import load_ipython_extension as load

    load(ipython)

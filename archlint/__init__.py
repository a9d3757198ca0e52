"""archlint: an architecture linter for PyTorch models."""
from __future__ import annotations

from typing import Any, Sequence

from archlint.findings import Finding, Fix, Metric, Severity
from archlint.plugins import hookimpl
from archlint.report import ModelReport, Report
from archlint.rule import Option, Rule

__version__ = "0.1.0"


def check(model: Any, example_inputs: Any = None, *, name: str | None = None, **settings: Any) -> Report:
    """Lint a built model: `archlint.check(MyNet(), torch.randn(2, 3, 64, 64))` -> Report.

    `example_inputs` is a tensor or a tuple of them; when None they are inferred from the first
    layer. Keyword settings are those of `[tool.archlint]` (select, ignore, probe, rule options...).
    """
    from archlint.api import check_built_model

    return check_built_model(model, example_inputs, name=name, **settings)


def __getattr__(name: str) -> Any:
    # CheckContext pulls in torch; importing `archlint` (e.g. as a pytest plugin) should not.
    if name in ("CheckContext", "MeasurementUnavailable"):
        from archlint import context

        return getattr(context, name)
    raise AttributeError(f"module 'archlint' has no attribute {name!r}")


__all__ = [
    "check", "hookimpl", "Rule", "Option", "Finding", "Fix", "Metric", "Severity", "Report",
    "ModelReport", "CheckContext", "MeasurementUnavailable", "__version__",
]

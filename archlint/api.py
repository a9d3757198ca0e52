"""The Python API behind `archlint.check(model, inputs)`."""
from __future__ import annotations

from typing import Any

from torch import nn

from archlint.inputs import as_input_tuple, infer_inputs
from archlint.report import Report, TargetError
from archlint.runner import RunOptions, check_model
from archlint.selection import Selection
from archlint.tracing import TraceFailure


def run_options_from(settings: dict[str, Any]) -> RunOptions:
    """Keyword settings use config names with underscores (extend_select, rule_options...)."""
    return RunOptions(
        selection=Selection(
            select=list(settings.get("select", ["ALL"])),
            extend_select=list(settings.get("extend_select", [])),
            ignore=list(settings.get("ignore", [])),
        ),
        severity_overrides=dict(settings.get("severity", {})),
        rule_options=dict(settings.get("rule_options", {})),
        probe=bool(settings.get("probe", True)),
        device=str(settings.get("device", "cpu")),
        show_all=bool(settings.get("show_all", False)),
    )


def check_built_model(model: nn.Module, example_inputs: Any = None, *, name: str | None = None,
                      plugins: tuple[Any, ...] = (), **settings: Any) -> Report:
    from archlint.plugins import build_plugin_host

    if isinstance(model, type):
        model = model()
    run = run_options_from(settings)
    host = build_plugin_host(extra_plugins=plugins)
    notes: list[str] = []
    if example_inputs is None:
        inputs, note = infer_inputs(model, run.device)
        notes.append(note)
    else:
        inputs = as_input_tuple(example_inputs)
    name = name or type(model).__name__
    report = Report()
    report.errors.extend(TargetError(e.plugin, e.error, "plugin") for e in host.load_errors)
    try:
        report.models.append(check_model(model, inputs, name=name, run=run, host=host, notes=notes))
    except TraceFailure as exc:
        report.errors.append(TargetError(name, str(exc), "trace"))
    report.errors.extend(TargetError(e.plugin, e.error, "plugin") for e in host.load_errors
                         if TargetError(e.plugin, e.error, "plugin") not in report.errors)
    return report

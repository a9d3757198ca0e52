"""The Python API behind `archlint.check(model, inputs, **settings)`.

Settings go through the same validation as a config file (`archlint.run.config.keyword_settings`):
a misspelled setting, rule code or option is a ValueError naming it and the valid ones, so a test's
`assert_clean()` can never pass because nothing ran.
"""
from __future__ import annotations

import dataclasses
import sys
from typing import Any, Sequence

import torch
from torch import nn

from archlint.load.construction import recording_sites
from archlint.load.errors import constructor_error_message
from archlint.load.inputs import InputInferenceError, as_input_tuple, infer_inputs
from archlint.mechanics.entry_method import model_to_lint
from archlint.plugin.host import PluginHost
from archlint.plugin.results import (
    ErrorKind,
    Note,
    NoteKind,
    OutputStyle,
    Report,
    TargetCause,
    TargetError,
)
from archlint.run.config import keyword_settings
from archlint.run.runner import RunOptions, lint_failure, lint_model
from archlint.run.setup import open_run, plugin_errors
from archlint.trace.result import TraceFailure


def check_built_model(model: nn.Module | type, example_inputs: Any = None, *, name: str | None = None,
                      plugins: Sequence[Any] = (), host: PluginHost | None = None, plots: bool | None = None,
                      **settings: Any) -> Report:
    """Lint one model (an instance, or a class built here with no arguments) with validated settings.

    `host` is the run's plugin host when the caller already has one (the pytest fixture); otherwise one
    is built with the installed plugins plus `plugins`. `plots` collects `ModelReport.plots` (for HTML); by
    default only in a notebook, where the report draws itself with them.
    """
    if not isinstance(model, nn.Module) and not (isinstance(model, type) and issubclass(model, nn.Module)):
        raise TypeError(f"archlint.check expects an nn.Module (or an nn.Module class), got {type(model).__name__}")
    if example_inputs is not None and not isinstance(example_inputs, (torch.Tensor, list, tuple)):
        raise TypeError(f"example inputs must be a tensor or a tuple of tensors, got {type(example_inputs).__name__}")
    # a malformed ARCHLINT_MEMORY_BUDGET is a ValueError here, not a failure inside a rule
    host = host or open_run(extra_plugins=plugins)
    plots = in_a_notebook() if plots is None else plots
    run = dataclasses.replace(keyword_settings(settings, host.rules).run, plots=plots)   # ValueError if bad
    report = _lint_one(model, example_inputs, name, host, run)
    report.display_formats = host.report_formats(OutputStyle(embedded=True))
    return report


def in_a_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython with a kernel attached)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def _lint_one(model: nn.Module | type, example_inputs: Any, name: str | None, host: PluginHost,
              run: RunOptions) -> Report:
    report = Report(errors=plugin_errors(host))
    if isinstance(model, type):
        try:
            with recording_sites():   # so findings point at the class's `self.x = ...` lines
                model = model()
        except Exception as exc:  # the user's constructor: report it, one line, no traceback
            report.errors.append(TargetError(name or model.__name__, constructor_error_message(model, exc), ErrorKind.LOAD,
                                             TargetCause.NOT_BUILT))
            return report
    name = name or type(model).__name__
    model, through = model_to_lint(model)
    notes: list[Note] = [Note(NoteKind.BUILD, through)] if through else []
    if example_inputs is None:
        try:
            inputs, note = infer_inputs(model, run.device)
        except InputInferenceError as exc:
            report.errors.append(TargetError(name, str(exc), ErrorKind.INPUT, TargetCause.NO_INPUT_FITS))
            return report
        notes.append(Note(NoteKind.INPUT, note))
    else:
        inputs = as_input_tuple(example_inputs)
    try:
        report.models.append(lint_model(model, inputs, host, name=name, run=run, notes=notes))
    except TraceFailure as exc:
        report.errors.append(TargetError(name, str(exc), ErrorKind.TRACE, exc.cause))
    except Exception as exc:  # an engine bug must still not lose the other targets or print a traceback
        report.errors.append(TargetError(name, *lint_failure(exc)))
    return report

"""The Python API behind `archlint.check(model, inputs)`."""
from __future__ import annotations

import inspect
import traceback
from typing import Any

import torch
from torch import nn

from archlint.inputs import InputInferenceError, as_input_tuple, infer_inputs
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


def _user_frame(exc: BaseException) -> str:
    """file:line of the innermost frame outside torch and archlint (the user's statement)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "/torch/" not in f.filename and "/archlint/" not in f.filename.replace("\\", "/")]
    return f" at {frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def constructor_error_message(cls: type, exc: BaseException) -> str:
    """One line saying why `cls()` failed: missing arguments, no CUDA device here, or what it raised."""
    try:
        required = [p.name for p in inspect.signature(cls).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        required = []
    first_line = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, TypeError) and required:
        args = ", ".join(f"{r}=..." for r in required)
        return (f"constructor needs arguments ({', '.join(required)}); pass an instance, "
                f"e.g. {cls.__name__}({args})")
    if not torch.cuda.is_available() and ("CUDA" in first_line or "NVIDIA" in first_line or "cuda" in first_line):
        return (f"constructor needs a CUDA device and none is available here ({type(exc).__name__}: {first_line})"
                f"{_user_frame(exc)}; build it on the CPU to lint it")
    return f"constructor raised {type(exc).__name__}: {first_line}{_user_frame(exc)}"


def check_built_model(model: nn.Module, example_inputs: Any = None, *, name: str | None = None,
                      plugins: tuple[Any, ...] = (), **settings: Any) -> Report:
    from archlint.plugins import build_plugin_host

    if not isinstance(model, nn.Module) and not (isinstance(model, type) and issubclass(model, nn.Module)):
        raise TypeError(f"archlint.check expects an nn.Module (or an nn.Module class), got {type(model).__name__}")
    if example_inputs is not None and not isinstance(example_inputs, (torch.Tensor, list, tuple)):
        raise TypeError(f"example inputs must be a tensor or a tuple of tensors, got {type(example_inputs).__name__}")
    report = Report()
    if isinstance(model, type):
        from archlint.construction import recording_sites

        try:
            with recording_sites():   # so findings point at the class's `self.x = ...` lines
                model = model()
        except Exception as exc:  # the user's constructor: report it, one line, no traceback
            report.errors.append(TargetError(name or model.__name__, constructor_error_message(model, exc), "load"))
            return report
    run = run_options_from(settings)
    host = build_plugin_host(extra_plugins=plugins)
    name = name or type(model).__name__
    notes: list[str] = []
    if example_inputs is None:
        try:
            inputs, note = infer_inputs(model, run.device)
        except InputInferenceError as exc:
            report.errors.append(TargetError(name, str(exc), "input"))
            return report
        notes.append(note)
    else:
        inputs = as_input_tuple(example_inputs)
    report.errors.extend(TargetError(e.plugin, e.error, "plugin") for e in host.load_errors)
    try:
        report.models.append(check_model(model, inputs, name=name, run=run, host=host, notes=notes))
    except TraceFailure as exc:
        report.errors.append(TargetError(name, str(exc), "trace"))
    except Exception as exc:  # an engine bug must still not lose the other targets or print a traceback
        report.errors.append(TargetError(name, f"internal error while linting: {type(exc).__name__}: {exc}",
                                         "internal"))
    report.errors.extend(TargetError(e.plugin, e.error, "plugin") for e in host.load_errors
                         if TargetError(e.plugin, e.error, "plugin") not in report.errors)
    return report

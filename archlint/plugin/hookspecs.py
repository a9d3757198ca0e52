"""Every hook archlint calls, in one place: read this file to write a plugin.

A plugin is a module or object with functions decorated by `archlint.hookimpl`; it is found
through the `archlint` entry-point group (built-in rules use the same group). Implementations
may accept fewer arguments than the spec names, so hooks can grow arguments later.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import pluggy

if TYPE_CHECKING:
    import torch

    from archlint.plugin.results import OutputStyle, Report
    from archlint.plugin.rule import Rule
    from archlint.trace.result import (
        TraceResult,  # a plugin tracer returns the engine's result type
    )

hookspec = pluggy.HookspecMarker("archlint")
hookimpl = pluggy.HookimplMarker("archlint")


@hookspec
def archlint_rules() -> "Sequence[Rule]":
    """Return the rules this plugin provides (Rule instances). Called once per run."""


@hookspec(firstresult=True)
def archlint_trace(model: "torch.nn.Module", example_inputs: tuple[Any, ...]) -> "TraceResult | None":
    """Trace `model` into an fx GraphModule for a model family the built-in tracers miss.

    Called before the built-in tracers (fx, fx with leaves, torch.export, hooks). Return None
    to decline; the first non-None TraceResult wins.
    """


@hookspec
def archlint_report_formats(rules: "Sequence[Rule]", style: "OutputStyle") -> "dict[str, Any]":
    """Return {format name: callable(report: Report) -> str} for `--format NAME`.

    `rules` are the run's loaded rules (built-in and third-party), for formats that describe them
    (SARIF's rule descriptors, HTML's rule docs). `style` is how the output is written to its destination
    (`--quiet`, colour for a terminal), for formats meant to be read there.
    """


@hookspec
def archlint_report_ready(report: "Report") -> None:
    """Called with the finished report of a run, before it is written (for side outputs)."""

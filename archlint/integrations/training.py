"""Lint a model once, on the first real batch, before a training loop pays for its first optimiser step.

The framework callbacks (`archlint.integrations.lightning`, `archlint.integrations.transformers`) share this:
what the model's forward receives is turned into example inputs, the model is linted (a copy is measured, the
model, its mode and the RNG are left as they were), the findings and the lint's time go to the trainer's logger and
the console, and findings at or above `fail_on` stop the run with `ArchitectureCheckFailed` before any step. A model
archlint could not lint is said on the console and in the metrics; it never stops training.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from archlint.api import check_built_model
from archlint.load.inputs import forward_inputs
from archlint.plugin.findings import Severity
from archlint.plugin.results import Report


class ArchitectureCheckFailed(RuntimeError):
    """archlint found problems at or above `fail_on` before the first training step; `.report` has them."""

    def __init__(self, report: Report, fail_on: Severity):
        self.report = report
        failing = report.failing(fail_on)
        codes = ", ".join(sorted({f.code for f in failing}))
        super().__init__(f"archlint stopped training before the first step: {len(failing)} finding(s) at or above "
                         f"{fail_on} ({codes}); {report.summary()} Fix them, or pass fail_on=None to only report.")


def batch_inputs(batch: Any) -> tuple[Any, ...]:
    """Example inputs from a batch as a data loader yields it: a tensor is the input; of a tuple or list `(x, y)`
    the first element is; a dict (keyword batch) is returned as one argument for `forward_inputs` to spread."""
    if isinstance(batch, torch.Tensor):
        return (batch,)
    if isinstance(batch, (tuple, list)) and batch:
        return batch_inputs(batch[0])
    return (batch,)


@dataclass
class FirstBatchLint:
    """The lint a callback runs once. `settings` are archlint.check's (select, ignore, rule_options, probe...)."""

    fail_on: Severity | str | None = Severity.ERROR
    settings: dict[str, Any] = field(default_factory=dict)
    done: bool = False

    def run(self, model: nn.Module, inputs: tuple[Any, ...], say: Callable[[str], None],
            log_metrics: Callable[[dict[str, float]], None], left_out: list[str] = ()) -> Report:
        """Lint `model` on `inputs`; say the report, log its numbers; raise ArchitectureCheckFailed when it fails."""
        self.done = True
        started = time.perf_counter()
        was_training = model.training
        report = check_built_model(model, inputs, name=type(model).__name__, **self.settings)
        seconds = time.perf_counter() - started
        model.train(was_training)    # (archlint leaves the mode as it found it; the loop's own mode is kept)
        text = report.display_formats["text"](report) if "text" in report.display_formats else report.summary()
        ignored = f"; keyword inputs not given to the lint: {', '.join(left_out)}" if left_out else ""
        say(f"archlint: linted {type(model).__name__} on the first batch in {seconds:.2f} s{ignored}\n{text}")
        log_metrics({"archlint/findings": float(len(report.findings)),
                     "archlint/failing": float(len(report.failing(self.fail_on or Severity.ERROR))),
                     "archlint/errors": float(len(report.errors)), "archlint/lint_seconds": seconds})
        if self.fail_on is not None and report.failing(self.fail_on):
            raise ArchitectureCheckFailed(report, Severity.parse(self.fail_on))
        return report


__all__ = ["ArchitectureCheckFailed", "FirstBatchLint", "batch_inputs", "forward_inputs"]

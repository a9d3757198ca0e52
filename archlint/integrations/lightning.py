"""`ArchlintCallback` for PyTorch Lightning: lint the LightningModule once, on the first training batch, before the
first optimiser step.

    trainer = L.Trainer(callbacks=[ArchlintCallback(fail_on="error", ignore=["AL601"])])

The example input is the first batch's input (a tensor batch, the first element of an `(x, y)` batch), or what
`inputs(batch)` returns. Findings are printed on the console (rank 0) and their counts and the lint's time logged
to every logger of the trainer (`archlint/findings`, `archlint/failing`, `archlint/errors`, `archlint/lint_seconds`).
Findings at or above `fail_on` raise `ArchitectureCheckFailed`, which ends `trainer.fit` before the step.
"""
from __future__ import annotations

from typing import Any, Callable

try:
    from lightning.pytorch import Callback, LightningModule, Trainer
except ImportError:  # the older package name of the same framework
    from pytorch_lightning import Callback, LightningModule, Trainer  # type: ignore[no-redef]

from archlint.integrations.training import ArchitectureCheckFailed, FirstBatchLint, batch_inputs
from archlint.plugin.findings import Severity


class ArchlintCallback(Callback):
    """Lint the model once, before the first optimiser step. `settings` are those of `archlint.check` (select,
    ignore, rule_options, probe, ...); `fail_on=None` only reports."""

    def __init__(self, fail_on: Severity | str | None = Severity.ERROR,
                 inputs: Callable[[Any], Any] | None = None, **settings: Any):
        super().__init__()
        self.lint = FirstBatchLint(fail_on, settings)
        self.inputs = inputs
        self.report = None

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        if self.lint.done:
            return
        given = self.inputs(batch) if self.inputs is not None else batch_inputs(batch)
        inputs = given if isinstance(given, tuple) else (given,)

        def log_metrics(metrics: dict[str, float]) -> None:
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=trainer.global_step)

        self.report = self.lint.run(pl_module, inputs, pl_module.print, log_metrics)


__all__ = ["ArchitectureCheckFailed", "ArchlintCallback"]

"""`ArchlintCallback` for the Hugging Face `Trainer`: lint the model once, on the first training batch exactly as the
model receives it, before the first optimiser step.

    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[ArchlintCallback(fail_on="error")])

The callback hooks the model's first forward call of the run: its keyword batch (`input_ids`, `attention_mask`,
...) becomes the example inputs, in the forward's own parameter order (keywords past the first one not given, such
as `labels`, are left out and said so). Findings go to the console, their counts and the lint's time to the trainer's log history
(`trainer.state.log_history`: `archlint/findings`, `archlint/failing`, `archlint/errors`, `archlint/lint_seconds`,
at step 0); findings at or
above `fail_on` raise `ArchitectureCheckFailed` from that first forward, which ends `trainer.train()` before its
backward pass and optimiser step.
"""
from __future__ import annotations

from typing import Any

from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from archlint.integrations.training import ArchitectureCheckFailed, FirstBatchLint, forward_inputs
from archlint.plugin.findings import Severity


class ArchlintCallback(TrainerCallback):
    """Lint the model once, on its first training forward. `settings` are those of `archlint.check`."""

    def __init__(self, fail_on: Severity | str | None = Severity.ERROR, **settings: Any):
        self.lint = FirstBatchLint(fail_on, settings)
        self.report = None

    def on_train_begin(self, args: TrainingArguments, state: TrainerState, control: TrainerControl,
                       model: nn.Module | None = None, **kwargs: Any) -> None:
        if self.lint.done or model is None:
            return

        def first_forward(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            handle.remove()     # once, and not for the forward passes the lint itself runs
            inputs, left_out = forward_inputs(module, args, kwargs)
            self.report = self.lint.run(module, inputs, print,
                                        lambda metrics: state.log_history.append({**metrics, "step": state.global_step}),
                                        left_out)

        handle = model.register_forward_pre_hook(first_forward, with_kwargs=True)


__all__ = ["ArchitectureCheckFailed", "ArchlintCallback"]

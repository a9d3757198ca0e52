"""Whether a model runs on given inputs (checked on meta or fake tensors first), without changing it."""
from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn

from archlint.load.device import inputs_for
from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.state import eval_mode
from archlint.mechanics.tensors import to_meta
from archlint.trace import fake
from archlint.trace.fake import OverBudget, fake_mode


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """torch.export logs failed graphs and warnings; a failed attempt is reported by us, in one line."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def runs_on(model: nn.Module, example_inputs: Sequence[Any]) -> bool:
    """Whether the model's forward accepts these inputs: checked by running it for real when that is cheaper
    (trace/fake.py), else on meta tensors, else on fake tensors (no activation allocated)."""
    inputs = inputs_for(model, example_inputs)
    if fake.real_run_cheaper(model, inputs):
        try:
            return _forward(model, lambda: fake.on_real_copies(model), inputs)
        except OverBudget:
            pass
        except Exception as exc:
            if not Cause.OUT_OF_MEMORY in causes(exc):
                return False    # the real forward failed: that is the answer, no cheaper imitation can overrule it
    # meta before fake: several times cheaper; fake tensors decide when the meta run fails
    for mode, given in ((lambda: fake.on_meta(model), to_meta(inputs)), (fake_mode, inputs)):
        try:
            return _forward(model, mode, given)
        except Exception:
            continue
    return False


def _forward(model: nn.Module, mode: Callable[[], Any], inputs: Sequence[Any]) -> bool:
    """One eval forward under `mode` (innermost, so it leaves first); True, or the forward's exception."""
    with eval_mode(model), quiet_torch(), torch.no_grad(), mode():
        model(*inputs)
    return True



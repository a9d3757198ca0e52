"""Running a model for shapes only, without allocating an activation.

Two ways, cheapest first:

- `on_meta(model)`: the model's own modules with every parameter and buffer swapped for a meta tensor
  of the same shape for the duration of a block, and factory functions (`torch.zeros(n)`) defaulting to
  the meta device. Meta kernels compute shapes only; nothing is converted or cached per call.
- `fake_mode()`: a FakeTensorMode. It handles more (CPU tensors kept as plain attributes, ops without a
  meta kernel, values read back as Python numbers for the recovery in tracers.py), at several times the
  cost per operation (batch norm is decomposed, every real tensor is converted on first use).

Callers try `on_meta` and fall back to fake tensors when it fails, so a model the meta path cannot run
is judged exactly as before.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
from torch import nn

from archlint.mechanics import preserved_attributes


def fake_mode() -> Any:
    from torch._subclasses.fake_tensor import FakeTensorMode

    # real (meta or CPU) parameters may enter the mode: they are converted on first use
    return FakeTensorMode(allow_non_fake_inputs=True)


def _meta_like(tensor: torch.Tensor) -> torch.Tensor:
    meta = torch.empty_like(tensor, device="meta")
    return nn.Parameter(meta, requires_grad=tensor.requires_grad) if isinstance(tensor, nn.Parameter) else meta


@contextlib.contextmanager
def on_meta(model: nn.Module) -> Iterator[None]:
    """Within the block, `model`'s parameters and buffers are meta tensors and new tensors default to meta.

    Everything is restored afterwards, including attributes the forward assigns (a cache, a mask buffer).
    """
    from torch.nn.utils.stateless import _reparametrize_module

    state = {name: _meta_like(t) for name, t in [*model.named_parameters(), *model.named_buffers()]}
    with preserved_attributes(model), _reparametrize_module(model, state, tie_weights=True), torch.device("meta"):
        yield


__all__ = ["fake_mode", "on_meta"]

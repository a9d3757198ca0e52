"""Where NaN or infinite values first appear: the share of non-finite values and the first layer producing them."""
from __future__ import annotations

from typing import Any, Callable, Iterable

import torch
from torch import nn

from archlint.mechanics.tensors import tensors_in


def non_finite_share(tensors: Iterable[torch.Tensor]) -> float:
    floats = [t.detach() for t in tensors if t.is_floating_point() and t.numel()]
    if all(torch.isfinite(t.sum()) for t in floats):   # a NaN or inf anywhere makes the sum non-finite
        return 0.0
    total = sum(t.numel() for t in floats)
    bad = sum(int((~torch.isfinite(t)).sum()) for t in floats)
    return bad / total if total else 0.0


def first_non_finite_layer(model: nn.Module, forward: Callable[[], Any]) -> str | None:
    """The module path of the first leaf module whose output is not finite, from one more forward pass."""
    found: list[str] = []

    def hook(path: str) -> Callable[..., None]:
        def record(module: nn.Module, inputs: Any, output: Any) -> None:
            if not found and non_finite_share(tensors_in(output)) > 0:
                found.append(path)
        return record

    handles = [m.register_forward_hook(hook(path)) for path, m in model.named_modules()
               if path and not list(m.children())]
    try:
        with torch.no_grad():
            forward()
    except Exception:
        pass
    finally:
        for handle in handles:
            handle.remove()
    return found[0] if found else None

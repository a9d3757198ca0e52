"""Tracers of last resort: torch.export (non-strict) and forward hooks. (Being written.)"""
from __future__ import annotations

from typing import Any

from torch import fx, nn


def export_graph(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[fx.GraphModule, list[str]]:
    raise NotImplementedError("torch.export fallback not implemented yet")


def hooks_graph(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[fx.GraphModule, list[str]]:
    raise NotImplementedError("forward-hook fallback not implemented yet")

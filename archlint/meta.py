"""Linting without weights: building models on the meta device, and when to do it.

A model built under `building_on("meta")` has parameters with shapes and dtypes but no storage,
so a 7B-parameter model costs a few MB. Tracing and fake-tensor shape propagation need nothing
more; structural rules run unchanged; value rules use the init provenance (archlint.provenance)
or say why they could not measure.

Device choice (`--device`): "cpu" builds normally, "meta" always builds on meta, "auto" builds on
meta first (cheap: init ops do nothing on meta) to count parameters, keeps that model when the
count is above `meta_above`, and otherwise builds again on the CPU so value rules see real weights.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch import nn

from archlint.construction import building_on

DEVICES = ("cpu", "meta", "auto")
# fp32 weights of 1e9 parameters take 4 GB, before any copy a value rule would make.
DEFAULT_META_ABOVE = 1_000_000_000


@dataclass
class BuiltModel:
    model: nn.Module
    device: str                 # where its weights live: "cpu" or "meta"
    note: str | None = None     # said in the report when archlint chose the device


def is_meta_model(model: nn.Module) -> bool:
    return any(t.is_meta for t in itertools.chain(model.parameters(), model.buffers()))


def count_parameters(model: nn.Module) -> int:
    """Parameters counted once even when shared (tied embeddings)."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel()
    return total


def inputs_for(model: nn.Module, inputs: Sequence[Any]) -> tuple[Any, ...]:
    """Example inputs on the model's device: CPU tensors go to meta for a meta model."""
    if not is_meta_model(model):
        return tuple(inputs)
    return tuple(x.to("meta") if isinstance(x, torch.Tensor) and not x.is_meta else x for x in inputs)


def build_model(factory: Callable[[], nn.Module], device: str = "auto",
                meta_above: int = DEFAULT_META_ABOVE) -> BuiltModel:
    """Build `factory()` on the requested device ("cpu", "meta" or "auto"); see the module docs."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {', '.join(DEVICES)}")
    if device == "cpu":
        with building_on("cpu"):
            return BuiltModel(factory(), "cpu")
    with building_on("meta"):
        model = factory()
    if device == "meta":
        return BuiltModel(model, "meta")
    count = count_parameters(model)
    if count > meta_above:
        return BuiltModel(model, "meta", f"built on the meta device (no weights allocated): {count:,} parameters "
                                         f"is above the meta-above threshold {meta_above:,}; value rules use init "
                                         f"provenance or report what they could not measure")
    del model
    with building_on("cpu"):
        return BuiltModel(factory(), "cpu")


__all__ = ["BuiltModel", "DEFAULT_META_ABOVE", "DEVICES", "build_model", "count_parameters", "inputs_for",
           "is_meta_model"]

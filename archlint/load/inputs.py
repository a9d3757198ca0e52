"""Example inputs: given, or inferred from the model's first layer (and said so in the report)."""
from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

DEFAULT_SPATIAL = {1: (256,), 2: (224, 224), 3: (16, 112, 112)}
DEFAULT_BATCH = 2
DEFAULT_SEQUENCE = 16


class InputInferenceError(Exception):
    pass


def as_input_tuple(example_inputs: Any) -> tuple[Any, ...]:
    if isinstance(example_inputs, torch.Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, (list, tuple)):
        return tuple(example_inputs)
    raise InputInferenceError(f"example inputs must be a tensor or a tuple of tensors, got {type(example_inputs).__name__}")


def _first_layer(model: nn.Module) -> nn.Module | None:
    for module in model.modules():
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear, nn.Embedding, nn.EmbeddingBag)):
            return module
    return None


def infer_inputs(model: nn.Module, device: str = "cpu") -> tuple[tuple[Any, ...], str]:
    """Inputs that fit the first parametric layer, and a sentence saying what was inferred."""
    layer = _first_layer(model)
    if layer is None:
        raise InputInferenceError("cannot infer an input shape (no Conv/Linear/Embedding layer found); pass --input-shape")
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    make_device = "meta" if device == "meta" else "cpu"
    if isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
        shape = (DEFAULT_BATCH, DEFAULT_SEQUENCE)
        tokens = torch.randint(0, layer.num_embeddings, shape, generator=torch.Generator().manual_seed(0))
        note = f"inputs inferred from first layer {type(layer).__name__}({layer.num_embeddings}, ...): integer tokens {list(shape)}"
        return (tokens.to(make_device),), note
    if isinstance(layer, nn.Linear):
        shape = (DEFAULT_BATCH, layer.in_features)
    else:
        # a conv (transposed or not) reads in_channels maps of the default spatial size for its rank
        shape = (DEFAULT_BATCH, layer.in_channels, *DEFAULT_SPATIAL[len(layer.kernel_size)])
    tensor = torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(dtype=dtype, device=make_device)
    note = f"input shape {list(shape)} ({str(dtype).replace('torch.', '')}) inferred from first layer {type(layer).__name__}"
    return (tensor,), note


def inputs_from_shape(shapes: list[tuple[int, ...]], dtype: torch.dtype = torch.float32, device: str = "cpu") -> tuple[Any, ...]:
    generator = torch.Generator().manual_seed(0)
    made = []
    for shape in shapes:
        if dtype.is_floating_point:
            t = torch.randn(shape, generator=generator).to(dtype)
        else:
            t = torch.randint(0, 100, shape, generator=generator).to(dtype)
        made.append(t.to("meta") if device == "meta" else t)
    return tuple(made)


def parse_input_shapes(value: Any) -> tuple[tuple[int, ...], ...]:
    """`1,3,224,224`, `1x3x224x224`, [1, 3, 224, 224] or [[1, 3, 8], [1, 5]] -> tuple of shapes."""
    if isinstance(value, str):
        parts = [p for p in re.split(r"[,x× ]+", value.strip()) if p]
        if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError(f"bad input shape {value!r} (expected positive integers like 1,3,224,224)")
        return (tuple(int(p) for p in parts),)
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return tuple(s for v in value for s in parse_input_shapes(v))
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                                 for v in value):
        return (tuple(value),)
    raise ValueError(f"bad input shape {value!r} (expected positive integers like [1, 3, 224, 224])")


def parse_dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, str(name).replace("torch.", ""), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown dtype {name!r} (e.g. float32, float16, bfloat16, int64)")
    return dtype

"""Tensors and memory: meta copies of inputs, the tensors inside a model output, memory sizes and the budget."""
from __future__ import annotations

import dataclasses
import os
import re
from typing import Any, Iterator, Sequence

# -- tensors ---------------------------------------------------------------------------------------

# Up to this many bytes of weights a lint copies them before running the model (what-if copies, the
# runner's undo copy, the real shape run); above it the storage is shared and only read: copying
# VGG16's 528 MB for every pass would cost more time and memory than the lint itself.
WEIGHT_COPY_LIMIT_BYTES = 64 << 20


def to_meta(inputs: Sequence[Any]) -> tuple[Any, ...]:
    """Example inputs with every tensor moved to the meta device (shapes and dtypes, no values)."""
    import torch

    return tuple(x.to("meta") if isinstance(x, torch.Tensor) and not x.is_meta else x for x in inputs)


def without_fx_traceback(interpreter: Any) -> Any:
    """An fx Interpreter that leaves a failing node's exception as it is. fx appends the node and its stack to
    the message and logs the graph through torch._logging, whose traceback summary imports torch._inductor and
    torch._dynamo (3-4 s). Only a message's first line is ever shown here, and failed runs are routine (a
    guessed input that does not fit)."""
    interpreter.extra_traceback = False
    return interpreter


def tensors_in(value: Any, depth: int = 0) -> Iterator[Any]:
    """Every tensor in a model output: tensors, tuples/lists, dicts, named tuples, dataclasses, and the
    attributes of a plain result object (up to three levels deep)."""
    import torch
    from torch import nn

    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from tensors_in(item, depth)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from tensors_in(item, depth)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from tensors_in(getattr(value, f.name, None), depth)
    elif hasattr(value, "__dict__") and not isinstance(value, (type, nn.Module)) and depth < 3:
        for item in vars(value).values():
            yield from tensors_in(item, depth + 1)


def memory_size(count: int) -> str:
    return f"{count / 2**30:.1f} GiB" if count >= 2**30 else f"{count / 2**20:.1f} MiB"


_SIZE_UNITS = {"": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
               "g": 2**30, "gb": 2**30, "gib": 2**30}


def parse_memory_size(text: str, what: str) -> int:
    """`8000000000`, `512M`, `8G`, `8GiB` -> bytes (units of 1024)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _SIZE_UNITS or float(match.group(1)) <= 0:
        raise ValueError(f"{what} must be a memory size in bytes or with a unit (8000000000, 512M, 8G), got {text!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def memory_budget_text(budget: int) -> str:
    """How a report states the budget: its size and where it came from."""
    source = "ARCHLINT_MEMORY_BUDGET" if os.environ.get("ARCHLINT_MEMORY_BUDGET") else "half the memory available now"
    return f"{memory_size(budget)} ({source})"


def memory_budget() -> int | None:
    """Half the memory available now (ARCHLINT_MEMORY_BUDGET overrides it); None if unknown.

    Raises ValueError, naming the variable and the accepted forms, for a value that is not a size."""
    override = os.environ.get("ARCHLINT_MEMORY_BUDGET")
    if override:
        return parse_memory_size(override, "ARCHLINT_MEMORY_BUDGET")
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2
    except OSError:
        return None
    return None


def resident_bytes() -> int | None:
    """The process's resident memory now (Linux /proc/self/statm); None where it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None

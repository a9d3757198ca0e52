"""How a fix names things in the user's code: submodule access paths and sizes."""
from __future__ import annotations

from typing import Iterable

from archlint.plugin.changes import code_path


def dims_text(values: Iterable[object]) -> str:
    """Sizes as people write them: (7, 7) -> `7×7`."""
    return "×".join(str(v) for v in values)


def sequential(layers: Iterable[str]) -> str:
    """`nn.Sequential(...)` over module expressions, one per line, as a fix's change and snippet write it."""
    return "nn.Sequential(\n" + "".join(f"    {layer},\n" for layer in layers) + ")"


def no_module_to_replace(call: str) -> str:
    """Why a fix of a functional call was not run: `call` is the function's name (`conv2d`)."""
    return f"after the change not measured: a functional {call}(...) call has no module to replace on a copy, so no fix " \
           f"was run"


__all__ = ["code_path", "dims_text", "no_module_to_replace", "sequential"]

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


__all__ = ["code_path", "dims_text", "sequential"]

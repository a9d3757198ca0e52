"""How a fix names things in the user's code: submodule access paths and sizes."""
from __future__ import annotations

from typing import Iterable


def code_path(module_path: str, root: str = "model") -> str:
    """How the user's code reaches a submodule: `features.3.conv` -> `model.features[3].conv`."""
    text = root
    for part in module_path.split("."):
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


def dims_text(values: Iterable[object]) -> str:
    """Sizes as people write them: (7, 7) -> `7×7`."""
    return "×".join(str(v) for v in values)


__all__ = ["code_path", "dims_text"]

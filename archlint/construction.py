"""Where each layer was constructed: the user's source line that built it.

While a model is being built (and while a user's file is imported), `recording_sites()` wraps
`nn.Module.__init__` so every new module remembers the first stack frame outside torch and outside
its own constructor chain: the `self.conv = nn.Conv2d(...)` statement, the line of a
`nn.Sequential(...)` literal, or the call inside a helper function or loop.
"""
from __future__ import annotations

import contextlib
import inspect
import os
import sys
import weakref
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_ARCHLINT_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


_sites: "weakref.WeakKeyDictionary[nn.Module, SourceLocation]" = weakref.WeakKeyDictionary()
_depth = 0


def construction_site(module: nn.Module) -> SourceLocation | None:
    return _sites.get(module)


def _is_library_frame(filename: str) -> bool:
    return filename.startswith(_TORCH_DIR) or filename.startswith(_ARCHLINT_DIR) or filename.startswith("<")


def _find_site(module: nn.Module) -> SourceLocation | None:
    frame = sys._getframe(2)
    while frame is not None:
        in_own_constructor = frame.f_locals.get("self") is module
        if not in_own_constructor and not _is_library_frame(frame.f_code.co_filename):
            return SourceLocation(frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return None


@contextlib.contextmanager
def recording_sites() -> Iterator[None]:
    """Record construction sites of modules created inside the block (re-entrant)."""
    global _depth
    original = nn.Module.__init__
    if _depth == 0:
        def __init__(self: nn.Module, *args: object, **kwargs: object) -> None:
            original(self, *args, **kwargs)
            if self not in _sites:
                site = _find_site(self)
                if site is not None:
                    _sites[self] = site
        __init__.__wrapped__ = original  # type: ignore[attr-defined]
        nn.Module.__init__ = __init__  # type: ignore[method-assign]
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            nn.Module.__init__ = getattr(nn.Module.__init__, "__wrapped__", nn.Module.__init__)  # type: ignore[method-assign]


def class_attribute_site(owner: nn.Module, attribute: str) -> SourceLocation | None:
    """Fallback for models built before archlint saw them: the `self.<attribute> =` line in the owner's class."""
    for cls in type(owner).__mro__:
        if cls.__module__.startswith("torch.nn"):
            break
        try:
            lines, start = inspect.getsourcelines(cls)
            file = inspect.getsourcefile(cls)
        except (OSError, TypeError):
            continue
        needle = f"self.{attribute}"
        for offset, text in enumerate(lines):
            stripped = text.strip()
            if stripped.startswith(needle) and "=" in stripped[len(needle):len(needle) + 3]:
                return SourceLocation(file or "<unknown>", start + offset)
    return None


@contextlib.contextmanager
def building_on(device: str = "cpu") -> Iterator[None]:
    """Build models inside this block: records construction sites and init provenance.

    With device "meta" every tensor created inside (weights included) lives on the meta device:
    shapes and dtypes only, no memory, and in-place init ops cost nothing. The init provenance
    (archlint.provenance) then tells value rules how each parameter was initialised.
    """
    from archlint.provenance import recording_init

    with contextlib.ExitStack() as stack:
        if device and device != "cpu":
            stack.enter_context(torch.device(device))
        stack.enter_context(recording_sites())
        stack.enter_context(recording_init())
        yield

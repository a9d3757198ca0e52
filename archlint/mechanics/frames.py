"""Whose code a file or a traceback frame is: the user's, torch's, the standard library's or archlint's."""
from __future__ import annotations

import importlib.util
import os
import sysconfig
import traceback
from types import TracebackType
from typing import Any

from archlint.mechanics.source import display_path

ENGINE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _package_dir(name: str) -> str:
    """The folder of an installed package, found without importing it ("\\0" when it is not installed)."""
    spec = importlib.util.find_spec(name)
    origin = spec.origin if spec and spec.origin else ""
    return os.path.dirname(os.path.abspath(origin)) + os.sep if origin else "\0"


# The built-in rules are a plugin package of their own; their code is archlint's, not the user's.
BUILTIN_RULES_DIR = _package_dir("archlint_rules")


TORCH_DIR = _package_dir("torch")
STDLIB_DIR = os.path.join(sysconfig.get_paths()["stdlib"], "")


def is_user_file(filename: str) -> bool:
    """True for code the user wrote: not torch, archlint's engine, the standard library, or generated code."""
    return not (filename.startswith(TORCH_DIR) or filename.startswith(ENGINE_DIR) or filename.startswith("<")
                or filename.startswith(BUILTIN_RULES_DIR)
                or (filename.startswith(STDLIB_DIR) and "-packages" not in filename))


def is_engine_file(filename: str) -> bool:
    """archlint's own engine, not its built-in rules (a rule's crash is reported at the rule's line)."""
    return filename.startswith(ENGINE_DIR)


def innermost_frame(tb: TracebackType | None, keep: Any = is_user_file) -> traceback.FrameSummary | None:
    """The innermost frame of a traceback whose file `keep` accepts (by default: the user's code)."""
    frames = [f for f in traceback.extract_tb(tb) if keep(f.filename)]
    return frames[-1] if frames else None


def user_frame_suffix(exc: BaseException) -> str:
    """` at file.py:42` for the user's innermost statement in the traceback, or ''."""
    frame = innermost_frame(exc.__traceback__)
    return f" at {display_path(frame.filename)}:{frame.lineno}" if frame else ""

"""Mechanics every layer needs, written once: whose code a frame is, one-line exception text, how a path
is shown, RNG and training-flag save/restore, meta-device inputs, and the tensors inside a model output.

Nothing here knows about rules, graphs or reports; every package may import it. torch is imported
lazily by the helpers that need it, so `import archlint` (e.g. as a pytest plugin) stays light.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import random
import sysconfig
import traceback
from types import TracebackType
from typing import Any, Iterator, Sequence

ENGINE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
BUILTIN_RULES_DIR = os.path.join(ENGINE_DIR, "rules") + os.sep


def _torch_dir() -> str:
    spec = importlib.util.find_spec("torch")
    origin = spec.origin if spec and spec.origin else ""
    return os.path.dirname(os.path.abspath(origin)) + os.sep if origin else "\0"


TORCH_DIR = _torch_dir()
STDLIB_DIR = os.path.join(sysconfig.get_paths()["stdlib"], "")


# -- whose code -----------------------------------------------------------------------------------

def is_user_file(filename: str) -> bool:
    """True for code the user wrote: not torch, archlint's engine, the standard library, or generated code."""
    return not (filename.startswith(TORCH_DIR) or filename.startswith(ENGINE_DIR) or filename.startswith("<")
                or (filename.startswith(STDLIB_DIR) and "-packages" not in filename))


def is_engine_file(filename: str) -> bool:
    """archlint's own engine, not its built-in rules (a rule's crash is reported at the rule's line)."""
    return filename.startswith(ENGINE_DIR) and not filename.startswith(BUILTIN_RULES_DIR)


def innermost_frame(tb: TracebackType | None, keep: Any = is_user_file) -> traceback.FrameSummary | None:
    """The innermost frame of a traceback whose file `keep` accepts (by default: the user's code)."""
    frames = [f for f in traceback.extract_tb(tb) if keep(f.filename)]
    return frames[-1] if frames else None


def user_frame_suffix(exc: BaseException) -> str:
    """` at file.py:42` for the user's innermost statement in the traceback, or ''."""
    frame = innermost_frame(exc.__traceback__)
    return f" at {display_path(frame.filename)}:{frame.lineno}" if frame else ""


# -- text -----------------------------------------------------------------------------------------

def first_line(exc: BaseException, default: str = "") -> str:
    """An exception's message, first line only (fx and torch append tracebacks and hints to theirs)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else default


def describe_exception(exc: BaseException) -> str:
    """`TypeError: first line of the message`."""
    message = first_line(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def display_path(path: str) -> str:
    """A path as the user should read it: relative to the working directory when it is below it."""
    if not os.path.isabs(path):
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith(".." + os.sep + "..") else relative


# -- state that a lint must leave as it found it ---------------------------------------------------

@contextlib.contextmanager
def preserved_rng(seed: int | None = None) -> Iterator[None]:
    """Restore the Python, torch and numpy RNG states on exit; with `seed`, seed all three on entry."""
    import torch

    py_state, torch_state = random.getstate(), torch.get_rng_state()
    try:
        import numpy
    except ImportError:
        numpy = None  # type: ignore[assignment]
    np_state = numpy.random.get_state() if numpy is not None else None
    if seed is not None:
        random.seed(seed)
        torch.manual_seed(seed)
        if numpy is not None:
            numpy.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        torch.set_rng_state(torch_state)
        if numpy is not None:
            numpy.random.set_state(np_state)


@contextlib.contextmanager
def preserved_training_flags(model: Any, train: bool | None = None) -> Iterator[None]:
    """Restore every submodule's `training` flag on exit; with `train`, switch the whole model first."""
    flags = {m: m.training for m in model.modules()}
    if train is not None:
        model.train(train)
    try:
        yield
    finally:
        for module, flag in flags.items():
            module.training = flag


def eval_mode(model: Any) -> contextlib.AbstractContextManager[None]:
    return preserved_training_flags(model, train=False)


# -- tensors ---------------------------------------------------------------------------------------

def to_meta(inputs: Sequence[Any]) -> tuple[Any, ...]:
    """Example inputs with every tensor moved to the meta device (shapes and dtypes, no values)."""
    import torch

    return tuple(x.to("meta") if isinstance(x, torch.Tensor) and not x.is_meta else x for x in inputs)


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


__all__ = ["ENGINE_DIR", "TORCH_DIR", "describe_exception", "display_path", "eval_mode", "first_line",
           "innermost_frame", "is_engine_file", "is_user_file", "preserved_rng", "preserved_training_flags",
           "tensors_in", "to_meta", "user_frame_suffix"]


# -- notebooks ---------------------------------------------------------------------------------------

_MAGIC = ("%", "!", "?")


def notebook_source(path: str) -> tuple[str, list[tuple[int, int]]]:
    """A .ipynb file's code cells as one Python source, and for each of its lines (cell number, line in cell),
    both counted from 1. IPython magics and shell lines become blank lines (line numbers stay put)."""
    import json

    with open(path, encoding="utf-8") as handle:
        cells = json.load(handle).get("cells", [])
    lines: list[str] = []
    positions: list[tuple[int, int]] = []
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        for offset, line in enumerate(text.splitlines(), start=1):
            lines.append("" if line.lstrip().startswith(_MAGIC) else line)
            positions.append((number, offset))
        lines.append("")                    # cells end with a newline of their own
        positions.append((number, len(text.splitlines()) + 1))
    return "\n".join(lines) + "\n", positions


def source_position(file: str, line: int) -> str:
    """`file:line`, or `notebook.ipynb:cell 3:line 5` for a line of a notebook's joined code cells."""
    shown = display_path(file)
    if file.endswith(".ipynb"):
        try:
            cell, in_cell = notebook_source(file)[1][line - 1]
        except (OSError, ValueError, IndexError):
            return f"{shown}:{line}"
        return f"{shown}:cell {cell}:line {in_cell}"
    return f"{shown}:{line}"

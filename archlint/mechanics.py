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
import re
import sysconfig
import time
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


def explain_user_error(exc: BaseException) -> str | None:
    """What the user's code tried to do, in their terms, for the failures real repositories meet most
    (a download, a file read, a prompt, a misordered super().__init__()); None when there is nothing to add."""
    message = first_line(exc)
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return f"it reads {str(exc.filename)!r}, which does not exist here (relative paths are read from {os.getcwd()})"
    url = _downloaded_url(exc)
    if url is not None or _is_network_error(exc):
        what = f"it downloads {url}" if url else "it opens a network connection"
        return (f"{what} and could not reach it; build it without pretrained weights (weights=None, "
                "pretrained=False) to lint the architecture")
    if isinstance(exc, EOFError) and "reading a line" in message:
        return ("it asks for input on the terminal (input()) and archlint gives it none; use a default value "
                "or a command-line flag instead")
    if isinstance(exc, AttributeError) and "before Module.__init__() call" in message:
        return "it assigns a layer before calling super().__init__(); call super().__init__() first"
    if isinstance(exc, AssertionError) and not message:
        frame = innermost_frame(exc.__traceback__)
        if frame is not None and frame.line:
            return f"`{frame.line.strip()}` failed"
    return None


def user_error_text(exc: BaseException) -> str:
    """`KeyError: 'dim' at net.py:8`, then what the user's code tried to do when that is known."""
    explanation = explain_user_error(exc)
    return f"{describe_exception(exc)}{user_frame_suffix(exc)}" + (f": {explanation}" if explanation else "")


def _is_network_error(exc: BaseException) -> bool:
    import socket
    import urllib.error

    return isinstance(exc, (urllib.error.URLError, socket.gaierror, ConnectionError, TimeoutError)) or \
        type(exc).__name__ in ("ConnectionError", "HTTPError", "MaxRetryError", "LocalEntryNotFoundError")


def _downloaded_url(exc: BaseException) -> str | None:
    """The `url` a failed download was fetching (torch.hub, urllib and requests keep it in a local)."""
    if not _is_network_error(exc):
        return None
    tb = exc.__traceback__
    found = None
    while tb is not None:
        value = tb.tb_frame.f_locals.get("url")
        if isinstance(value, str) and "://" in value:
            found = found or value
        tb = tb.tb_next
    return found


def display_path(path: str) -> str:
    """A path as the user should read it: relative to the working directory when it is below it."""
    if not os.path.isabs(path):
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith(".." + os.sep + "..") else relative


# -- state that a lint must leave as it found it ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RngState:
    """The Python, torch and numpy RNG states at one moment, to put back later."""

    python: Any
    torch: Any
    numpy: Any

    @classmethod
    def capture(cls) -> "RngState":
        import torch

        numpy = _numpy()
        return cls(random.getstate(), torch.get_rng_state(), numpy.random.get_state() if numpy else None)

    def restore(self) -> None:
        import torch

        random.setstate(self.python)
        torch.set_rng_state(self.torch)
        numpy = _numpy()
        if numpy is not None and self.numpy is not None:
            numpy.random.set_state(self.numpy)


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


@contextlib.contextmanager
def preserved_rng(seed: int | None = None) -> Iterator[None]:
    """Restore the Python, torch and numpy RNG states on exit; with `seed`, seed all three on entry."""
    import torch

    saved = RngState.capture()
    if seed is not None:
        random.seed(seed)
        torch.manual_seed(seed)
        numpy = _numpy()
        if numpy is not None:
            numpy.random.seed(seed)
    try:
        yield
    finally:
        saved.restore()


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


@contextlib.contextmanager
def preserved_attributes(model: Any) -> Iterator[None]:
    """Undo what a traced forward assigns on the model's modules: plain attributes and buffers (timm's ConViT
    sets `self.rel_indices = ...`, a buffer, in forward: a symbolic trace would leave a Proxy or a meta
    tensor there, and the next tracer would see it)."""
    tables = ("_parameters", "_buffers", "_modules")
    saved = [(module, dict(module.__dict__), {t: dict(getattr(module, t)) for t in tables}) for module in model.modules()]
    try:
        yield
    finally:
        for module, attributes, contents in saved:
            for table, before in contents.items():
                current = getattr(module, table)
                current.clear()
                current.update(before)
            for name in [n for n in module.__dict__ if n not in attributes]:
                del module.__dict__[name]
            for name, value in attributes.items():
                if module.__dict__.get(name) is not value:
                    module.__dict__[name] = value


def eval_mode(model: Any) -> contextlib.AbstractContextManager[None]:
    return preserved_training_flags(model, train=False)


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


# -- where the time goes (--profile / ARCHLINT_PROFILE) ---------------------------------------------------

class Phases:
    """Wall time per phase of a run, exclusive: a phase started inside another pauses it, so the phases of
    a run add up to its total (the probe, run on a rule's behalf, is counted as the probe, not the rule)."""

    def __init__(self) -> None:
        self.enabled = bool(os.environ.get("ARCHLINT_PROFILE"))
        self.totals: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self._stack: list[list[Any]] = []     # [name, time it (re)started]

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        now = time.perf_counter()
        if self._stack:
            self._add(self._stack[-1][0], now - self._stack[-1][1])
        self._stack.append([name, now])
        self.counts[name] = self.counts.get(name, 0) + 1
        try:
            yield
        finally:
            now = time.perf_counter()
            current = self._stack.pop()
            self._add(current[0], now - current[1])
            if self._stack:
                self._stack[-1][1] = now

    def _add(self, name: str, seconds: float) -> None:
        self.totals[name] = self.totals.get(name, 0.0) + seconds

    def table(self, startup: float | None = None) -> str:
        """The phase table, slowest first, with each phase's share of the total."""
        totals = dict(self.totals)
        if startup is not None:
            totals["startup (python, imports)"] = startup
        total = sum(totals.values()) or 1.0
        width = max([len(name) for name in totals] + [5])
        lines = [f"{'phase':<{width}}  {'calls':>5}  {'seconds':>8}  share"]
        for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
            lines.append(f"{name:<{width}}  {self.counts.get(name, 1):>5}  {seconds:>8.3f}  {seconds / total:>5.1%}")
        lines.append(f"{'total':<{width}}  {'':>5}  {total:>8.3f}  100.0%")
        return "\n".join(lines) + "\n"


PHASES = Phases()


def phase(name: str) -> contextlib.AbstractContextManager[None]:
    """`with phase("trace"): ...` counts the block's wall time under `name` when profiling is on."""
    return PHASES.phase(name)


def process_age() -> float | None:
    """Seconds since this process started (Linux), for the startup row of the phase table."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            started_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - started_ticks / os.sysconf("SC_CLK_TCK")


__all__ = ["ENGINE_DIR", "PHASES", "Phases", "TORCH_DIR", "describe_exception", "display_path", "eval_mode", "explain_user_error",
           "first_line",
           "innermost_frame", "is_engine_file", "is_user_file", "memory_budget", "memory_size", "preserved_rng",
           "preserved_training_flags", "phase", "process_age", "tensors_in", "to_meta", "user_error_text", "user_frame_suffix"]


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

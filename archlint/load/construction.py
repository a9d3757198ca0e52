"""Where each layer was constructed: the user's source line that built it.

While a model is being built (and while a user's file is imported), `recording_sites()` wraps
`nn.Module.__init__` so every new module remembers the first stack frame outside torch and outside
its own constructor chain: the `self.conv = nn.Conv2d(...)` statement, the line of a
`nn.Sequential(...)` literal, or the call inside a helper function or loop.

When user code assigns a new module as an attribute (`self.conv1 = conv3x3(64, 64)`), the
assignment line wins over the line inside the shared helper (`return nn.Conv2d(...)`): that is
the line a user edits, and the one editors and code scanning should point at. It wins only if the
assigning frame was on the stack while the module was built, so `self.inner = inner` in a wrapper
that received a ready-made module keeps the line where `inner` was built.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import weakref
from dataclasses import dataclass
from typing import Iterator

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from archlint.mechanics.frames import is_user_file


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


_sites: "weakref.WeakKeyDictionary[nn.Module, SourceLocation]" = weakref.WeakKeyDictionary()
_assignment_sites: "weakref.WeakKeyDictionary[nn.Module, SourceLocation]" = weakref.WeakKeyDictionary()
# (frame id, code object) of the user frames on the stack while a module was built, kept until the
# module is first assigned as an attribute; the code object guards against a reused frame address.
_building_frames: "weakref.WeakKeyDictionary[nn.Module, frozenset[tuple[int, object]]]" = weakref.WeakKeyDictionary()
_depth = 0


def construction_site(module: nn.Module) -> SourceLocation | None:
    """The `self.x = ...` line that stored the module if user code did, else the line that built it."""
    return _assignment_sites.get(module) or _sites.get(module)


def _is_library_frame(filename: str) -> bool:
    return not is_user_file(filename)


def _find_site(module: nn.Module) -> SourceLocation | None:
    frame = sys._getframe(2)
    while frame is not None:
        in_own_constructor = frame.f_locals.get("self") is module
        if not in_own_constructor and not _is_library_frame(frame.f_code.co_filename):
            return SourceLocation(frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return None


def _user_frames_on_stack() -> frozenset[tuple[int, object]]:
    frame = sys._getframe(2)
    found = set()
    while frame is not None:
        if not _is_library_frame(frame.f_code.co_filename):
            found.add((id(frame), frame.f_code))
        frame = frame.f_back
    return frozenset(found)


def _assigning_frame() -> "object | None":
    """The user frame executing `obj.attr = module` (past overridden __setattr__ methods)."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_name == "__setattr__":
        frame = frame.f_back
    if frame is None or _is_library_frame(frame.f_code.co_filename):
        return None
    return frame


def _record_assignment(module: nn.Module) -> None:
    frame = _assigning_frame()
    if frame is None:  # stored by library code (a container's add_module...): not the user's line
        return
    building = _building_frames.pop(module, None)
    if building is not None and (id(frame), frame.f_code) in building:  # type: ignore[attr-defined]
        _assignment_sites[module] = SourceLocation(frame.f_code.co_filename, frame.f_lineno)  # type: ignore[attr-defined]


@contextlib.contextmanager
def recording_sites() -> Iterator[None]:
    """Record construction sites of modules created inside the block (re-entrant)."""
    global _depth
    original_init, original_setattr = nn.Module.__init__, nn.Module.__setattr__
    if _depth == 0:
        def __init__(self: nn.Module, *args: object, **kwargs: object) -> None:
            original_init(self, *args, **kwargs)
            if self not in _sites:
                site = _find_site(self)
                if site is not None:
                    _sites[self] = site
                    _building_frames[self] = _user_frames_on_stack()

        def __setattr__(self: nn.Module, name: str, value: object) -> None:
            original_setattr(self, name, value)
            if isinstance(value, nn.Module) and value in _building_frames:
                _record_assignment(value)

        __init__.__wrapped__ = original_init  # type: ignore[attr-defined]
        __setattr__.__wrapped__ = original_setattr  # type: ignore[attr-defined]
        nn.Module.__init__ = __init__  # type: ignore[method-assign]
        nn.Module.__setattr__ = __setattr__  # type: ignore[method-assign]
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            nn.Module.__init__ = getattr(nn.Module.__init__, "__wrapped__", nn.Module.__init__)  # type: ignore[method-assign]
            nn.Module.__setattr__ = getattr(nn.Module.__setattr__, "__wrapped__", nn.Module.__setattr__)  # type: ignore[method-assign]


@functools.lru_cache(maxsize=256)
def _class_source(cls: type) -> tuple[list[str], int, str] | None:
    # read once per class: every element of a Sequential asks for its container's line (39 reads in a VGG)
    try:
        lines, start = inspect.getsourcelines(cls)
        return lines, start, inspect.getsourcefile(cls) or "<unknown>"
    except (OSError, TypeError):
        return None


def class_attribute_site(owner: nn.Module, attribute: str) -> SourceLocation | None:
    """Fallback for models built before archlint saw them: the `self.<attribute> =` line in the owner's class."""
    for cls in type(owner).__mro__:
        if cls.__module__.startswith("torch.nn"):
            break
        source = _class_source(cls)
        if source is None:
            continue
        lines, start, file = source
        needle = f"self.{attribute}"
        for offset, text in enumerate(lines):
            stripped = text.strip()
            if stripped.startswith(needle) and "=" in stripped[len(needle):len(needle) + 3]:
                return SourceLocation(file, start + offset)
    return None


# Some meta kernels are Python references wrapped in `_disable_dynamo`, whose first call imports
# torch._dynamo: about 2 s of a fresh process, for a shape check (kaiming_normal_ and nn.Embedding's
# default init run `normal_`; rotary and position tables run `arange`). On meta, a random fill has
# nothing to write, and a range is made on the CPU (it is small: it sizes a table) and moved.
_RANDOM_FILLS = frozenset({"normal_", "uniform_", "bernoulli_", "random_", "exponential_", "geometric_",
                           "log_normal_", "cauchy_"})
_RANGES = frozenset({"arange", "linspace", "logspace"})


class _MetaWithoutDynamo(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[override]
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        target = args[0] if args else kwargs.get("tensor")    # nn.init.normal_ may pass it by keyword
        if name in _RANDOM_FILLS and isinstance(target, torch.Tensor) and target.is_meta:
            return target
        if name in _RANGES and str(kwargs.get("device")) == "meta" and "out" not in kwargs:
            return func(*args, **{**kwargs, "device": "cpu"}).to("meta")
        return func(*args, **kwargs)


@contextlib.contextmanager
def building_on(device: str = "cpu") -> Iterator[None]:
    """Build models inside this block: records construction sites and init provenance.

    With device "meta" every tensor created inside (weights included) lives on the meta device:
    shapes and dtypes only, no memory, and in-place init ops cost nothing. The init provenance
    (archlint.load.provenance) then tells value rules how each parameter was initialised.
    """
    from archlint.load.provenance import recording_init

    with contextlib.ExitStack() as stack:
        if device == "meta":
            stack.enter_context(_MetaWithoutDynamo())   # innermost: init is still recorded, then skipped
        if device and device != "cpu":
            stack.enter_context(torch.device(device))
        stack.enter_context(recording_sites())
        stack.enter_context(recording_init())
        yield

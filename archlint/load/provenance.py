"""Initialisation provenance: which operation last wrote each parameter while the model was built.

On the meta device a parameter has a shape but no values, so a rule cannot look at a weight to see
that it is all zeros. What it can know is *how* the weight was last written during construction:
`nn.init.zeros_`, `tensor.fill_(1.0)`, `kaiming_uniform_`, `nn.Parameter(torch.ones(d))`... While
a model is built inside `recording_init()`, a TorchFunctionMode watches in-place init calls and
tensor factories and keeps, per tensor storage, an `InitRecord` saying which op wrote it, whether
that op leaves every element equal (and to which value, when known) and the user's source line.

Records are keyed by the storage object (aliases such as `weight.data` share it), kept in a
weak dictionary, so they disappear together with the model. A TorchFunctionMode sees the
outermost call only: `nn.init.kaiming_uniform_` is recorded as such, not as the `uniform_` it
calls inside.
"""
from __future__ import annotations

import contextlib
import functools
import sys
import weakref
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterator

import torch
from torch.overrides import TorchFunctionMode

from archlint.mechanics.frames import is_user_file


@dataclass(frozen=True)
class InitRecord:
    """How a tensor's values were last set during construction.

    `constant` is True when every element is equal afterwards (zeros_, fill_, ones, constant_...),
    False when the op draws distinct values (normal_, kaiming_uniform_, randn...), None when unknown
    (e.g. `copy_` from a tensor we did not see made). `value` is the constant when it is known.
    `partial_writes` names in-place writes to only part of the tensor (e.g. an embedding's padding row).
    """

    op: str
    constant: bool | None
    value: float | None = None
    file: str | None = None
    line: int | None = None
    partial_writes: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f" at {self.file}:{self.line}" if self.file else ""
        return f"{self.op}{where}"


# Ops that write every element with one value: name -> index of the value argument (None: fixed value).
_CONSTANT_WRITERS: dict[str, tuple[int | None, float | None]] = {
    "zero_": (None, 0.0), "zeros_": (None, 0.0), "ones_": (None, 1.0),
    "fill_": (1, None), "constant_": (1, None),
}
_RANDOM_WRITERS = frozenset({
    "normal_", "uniform_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_",
    "xavier_normal_", "orthogonal_", "sparse_", "bernoulli_", "exponential_", "geometric_", "cauchy_",
    "log_normal_", "random_",
})
# Structured, not constant, not random: identity-like initialisers.
_STRUCTURED_WRITERS = frozenset({"eye_", "dirac_"})
# Element-wise in-place ops: applied to a constant tensor with scalar arguments, the result stays constant.
_ELEMENTWISE = frozenset({
    "mul_", "div_", "add_", "sub_", "clamp_", "clamp_min_", "clamp_max_", "abs_", "neg_", "exp_", "sqrt_",
    "erfinv_", "tanh_", "sigmoid_", "pow_",
})
_SCALE = {"mul_": lambda a, b: a * b, "div_": lambda a, b: a / b if b else None,
          "add_": lambda a, b: a + b, "sub_": lambda a, b: a - b}
_FACTORIES: dict[str, tuple[bool, float | None]] = {
    "zeros": (True, 0.0), "ones": (True, 1.0), "zeros_like": (True, 0.0), "ones_like": (True, 1.0),
    "full": (True, None), "full_like": (True, None),
    "randn": (False, None), "rand": (False, None), "randn_like": (False, None), "rand_like": (False, None),
    "randint": (False, None), "normal": (False, None), "empty": (False, None), "empty_like": (False, None),
}

_records: "weakref.WeakKeyDictionary[Any, InitRecord]" = weakref.WeakKeyDictionary()
_depth = 0


def init_record(tensor: torch.Tensor) -> InitRecord | None:
    """The last recorded write of `tensor` during construction, or None if none was seen."""
    try:
        return _records.get(tensor.untyped_storage())
    except (RuntimeError, TypeError):
        return None


def carry_record(source: torch.Tensor, copy: torch.Tensor) -> None:
    """`copy` was made from `source` (e.g. moved to meta): it inherits the record."""
    record = init_record(source)
    if record is not None:
        _records[copy.untyped_storage()] = record


def _user_site() -> tuple[str | None, int | None]:
    frame = sys._getframe(3)
    while frame is not None:
        name = frame.f_code.co_filename
        if is_user_file(name):
            return name, frame.f_lineno
        frame = frame.f_back
    return None, None


def _as_float(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _covers_storage(tensor: torch.Tensor) -> bool:
    storage_elements = tensor.untyped_storage().nbytes() // max(tensor.element_size(), 1)
    return tensor.numel() >= storage_elements


def _op_name(func: Callable[..., Any]) -> tuple[str, str]:
    """(short name, display name): `nn.init.zeros_` vs the Tensor method `zero_`."""
    name = getattr(func, "__name__", "")
    module = getattr(func, "__module__", "") or ""
    if module == "torch.nn.init":
        return name, f"nn.init.{name}"
    return name, name


def _written_record(name: str, display: str, args: tuple, kwargs: dict, previous: InitRecord | None,
                    site: tuple[str | None, int | None]) -> InitRecord | None:
    """The record after op `name` wrote args[0] in place; None if `name` is not a write we track."""
    file, line = site
    if name in _CONSTANT_WRITERS:
        index, fixed = _CONSTANT_WRITERS[name]
        raw = kwargs.get("val", kwargs.get("value", args[index] if index is not None and len(args) > index else None))
        raw = raw if raw is not None else (args[index] if index is not None and len(args) > index else None)
        value = fixed if index is None else _as_float(raw)
        constant = True if index is None or value is not None else None  # fill_(tensor) may not be a scalar
        return InitRecord(display, constant, value, file, line)
    if name in _RANDOM_WRITERS:
        return InitRecord(display, False, None, file, line)
    if name in _STRUCTURED_WRITERS:
        return InitRecord(display, False, None, file, line)
    if name == "copy_":
        source = args[1] if len(args) > 1 else kwargs.get("src")
        known = init_record(source) if isinstance(source, torch.Tensor) else None
        if known is not None:
            return InitRecord(f"copy_ of {known.op}", known.constant, known.value, file, line)
        return InitRecord("copy_", None, None, file, line)
    if name in _ELEMENTWISE and previous is not None:
        scalars = [a for a in args[1:] if not isinstance(a, torch.Tensor)]
        if previous.constant and len(scalars) == len(args) - 1:
            value = None
            if name in _SCALE and previous.value is not None and scalars and _as_float(scalars[0]) is not None:
                value = _SCALE[name](previous.value, float(scalars[0]))
            return replace(previous, op=f"{previous.op} then {display}", value=value)
        return replace(previous, op=f"{previous.op} then {display}",
                       constant=False if previous.constant is False else None, value=None)
    return None


class _InitRecorder(TorchFunctionMode):
    """Records in-place writes and tensor factories; never changes what the call does."""

    def __torch_function__(self, func: Callable[..., Any], types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        try:
            self._record(func, args, kwargs, result)
        except Exception:  # recording is best effort: it must never break the user's constructor
            pass
        return result

    @staticmethod
    def _record(func: Callable[..., Any], args: tuple, kwargs: dict, result: Any) -> None:
        name, display = _op_name(func)
        if not name:
            return
        if name in _FACTORIES and isinstance(result, torch.Tensor):
            constant, value = _FACTORIES[name]
            if name in ("full", "full_like"):
                value = _as_float(kwargs.get("fill_value", args[1] if len(args) > 1 else None))
            _records[result.untyped_storage()] = InitRecord(f"torch.{name}", constant, value, *_user_site())
            return
        if not name.endswith("_") or name.startswith("_"):
            return
        _record_write(name, display, args, kwargs)


def _record_write(name: str, display: str, args: tuple, kwargs: dict) -> None:
    if not args and isinstance(kwargs.get("tensor"), torch.Tensor):  # nn.init passes the tensor by keyword
        args = (kwargs["tensor"],)
    if not args or not isinstance(args[0], torch.Tensor):
        return
    target = args[0]
    storage = target.untyped_storage()
    previous = _records.get(storage)
    written = _written_record(name, display, args, kwargs, previous, _user_site())
    if written is None:
        return
    if _covers_storage(target):
        _records[storage] = written
    elif previous is not None:
        _records[storage] = replace(previous, partial_writes=previous.partial_writes + (display,))
    else:
        _records[storage] = InitRecord("unknown", None, partial_writes=(display,))


def _recorded(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap an nn.init function: some (zeros_, trunc_normal_ on meta...) bypass torch-function modes."""
    name = original.__name__

    @functools.wraps(original)
    def init_function(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        try:
            _record_write(name, f"nn.init.{name}", args, kwargs)
        except Exception:  # best effort, never breaks construction
            pass
        return result

    init_function.__wrapped__ = original  # type: ignore[attr-defined]
    return init_function


@contextlib.contextmanager
def _patched_init_functions() -> Iterator[None]:
    names = [n for n in (*_CONSTANT_WRITERS, *_RANDOM_WRITERS, *_STRUCTURED_WRITERS)
             if callable(getattr(torch.nn.init, n, None))]
    originals = {n: getattr(torch.nn.init, n) for n in names}
    for n, original in originals.items():
        setattr(torch.nn.init, n, _recorded(original))
    try:
        yield
    finally:
        for n, original in originals.items():
            setattr(torch.nn.init, n, original)


@contextlib.contextmanager
def recording_init() -> Iterator[None]:
    """Record init provenance of tensors written inside the block (re-entrant)."""
    global _depth
    if _depth:
        _depth += 1
        try:
            yield
        finally:
            _depth -= 1
        return
    _depth = 1
    try:
        with _patched_init_functions(), _InitRecorder():
            yield
    finally:
        _depth = 0


def clear_records() -> None:
    _records.clear()


__all__ = ["InitRecord", "carry_record", "init_record", "recording_init", "clear_records"]

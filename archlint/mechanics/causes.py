"""Why an exception happened, in the causes the user sees: the one place that reads an exception's words.

torch, fx and Python say several things only in the text of an exception (a control-flow stop in fx, a
CUDA-only constructor, an allocator out of memory). Every part of archlint that must tell these apart asks
`classify(exc)` and branches on the `Cause` it returns; nobody else matches an exception's message.
"""
from __future__ import annotations

import enum
import socket
import urllib.error


class Cause(enum.Enum):
    """What made an operation fail, as far as archlint acts on it."""

    CONTROL_FLOW = "control flow on a tensor value"              # fx: `if x.sum() > 0:` on a proxy
    ITERATION = "iteration over a tensor"                         # fx: `for row in x:` on a proxy
    DATA_DEPENDENT = "data-dependent control flow"                # fake/meta tensors: a value decides a shape
    SHAPE_MISMATCH = "the input does not fit the layer"           # sizes, channels, dtypes that do not match
    CUDA_ONLY = "needs a CUDA device"                             # code that asks for a GPU
    GPU_TENSOR_ON_CPU_RUN = "a tensor made on a GPU"              # a forward that makes a tensor on a GPU
    OUT_OF_MEMORY = "out of memory"
    NO_PARENT_PACKAGE = "a relative import outside a package"     # `from .x import y` in a folder without __init__
    NETWORK = "a download or network connection"
    MISSING_FILE = "a file that does not exist"
    TERMINAL_INPUT = "a prompt on the terminal"                   # input() with no terminal
    LAYER_BEFORE_INIT = "a layer assigned before super().__init__()"
    BARE_ASSERT = "an assert without a message"
    NO_PROCESS_GROUP = "torch.distributed without a process group"   # a forward that calls all_reduce/all_gather
    NO_RPC = "torch.distributed.rpc without its workers"           # remote modules, parameter servers
    OTHER = "other"


_SHAPE_WORDS = ("shape", "size", "channels", "dim", "expected", "mat1", "dtype", "must match",
                "cannot be multiplied", "type", "mismatch")
_DATA_DEPENDENT_TYPES = ("GuardOnDataDependentSymNode", "DataDependentOutputException", "DynamicOutputShapeException")
# what meta and fake tensors say when the code reads a value they do not hold (`.numpy()`, `.item()`, `.tolist()`)
_VALUE_READ_WORDS = ("copy out of meta tensor", "numpy() is not supported for tensor subclasses",
                     "cannot be called on meta tensors", "_local_scalar_dense")
_NETWORK_TYPES = ("ConnectionError", "HTTPError", "MaxRetryError", "LocalEntryNotFoundError")


def causes(exc: BaseException) -> frozenset[Cause]:
    """Every cause `exc` shows (a CUDA message can also name sizes); empty when none is known."""
    message = str(exc)
    lowered = message.lower()
    names = {cls.__name__ for cls in type(exc).__mro__}
    found = set()
    if "TraceError" in names and "control flow" in message:
        found.add(Cause.CONTROL_FLOW)
    if "TraceError" in names and "iterate" in message:
        found.add(Cause.ITERATION)
    if names & set(_DATA_DEPENDENT_TYPES) or "data-dependent" in message or "data dependent" in message or \
            any(words in message for words in _VALUE_READ_WORDS):
        found.add(Cause.DATA_DEPENDENT)
    if isinstance(exc, MemoryError) or "can't allocate memory" in message:
        found.add(Cause.OUT_OF_MEMORY)
    if isinstance(exc, ImportError) and "no known parent package" in message:
        found.add(Cause.NO_PARENT_PACKAGE)
    if isinstance(exc, FileNotFoundError) and exc.filename:
        found.add(Cause.MISSING_FILE)
    if any(_is_network_error(link) for link in _chain(exc)):   # a library's own error raised from a refused connection
        found.add(Cause.NETWORK)
    if isinstance(exc, EOFError) and "reading a line" in message:
        found.add(Cause.TERMINAL_INPUT)
    if isinstance(exc, AttributeError) and "before Module.__init__() call" in message:
        found.add(Cause.LAYER_BEFORE_INIT)
    if isinstance(exc, AssertionError) and not message.strip():
        found.add(Cause.BARE_ASSERT)
    if "process group has not been initialized" in lowered:
        found.add(Cause.NO_PROCESS_GROUP)
    if "rpc has not been initialized" in lowered:
        found.add(Cause.NO_RPC)
    if "CUDA" in message or "NVIDIA" in message or "cuda" in message:
        found.add(Cause.CUDA_ONLY)
    if "same device" in message and "cuda" in message:
        found.add(Cause.GPU_TENSOR_ON_CPU_RUN)
    if any(word in lowered for word in _SHAPE_WORDS):
        found.add(Cause.SHAPE_MISMATCH)
    return frozenset(found)


def _is_network_error(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return isinstance(exc, (urllib.error.URLError, socket.gaierror, ConnectionError, TimeoutError)) \
        or bool(names & set(_NETWORK_TYPES))


def _chain(exc: BaseException, most: int = 8) -> list[BaseException]:
    """The exception and those it was raised from or while handling, nearest first."""
    chain = [exc]
    while len(chain) < most:
        following = chain[-1].__cause__ or chain[-1].__context__
        if following is None or following in chain:
            break
        chain.append(following)
    return chain


def classify(exc: BaseException) -> Cause:
    """The most specific cause of `exc` (the order of `Cause`), or Cause.OTHER."""
    found = causes(exc)
    return next((cause for cause in Cause if cause in found), Cause.OTHER)


__all__ = ["Cause", "causes", "classify"]

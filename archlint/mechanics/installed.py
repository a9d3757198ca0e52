"""Which installed package a file or a called object belongs to, and a call the installed version refuses.

A published repository ran for its authors with the versions they had. When Python refuses the arguments the
repository's own code gives an installed package's function or class (`librosa.util.pad_center(window, n)`, its
size keyword-only since librosa 0.10; `TransformObservation(env, f)`, needing the observation space since
gymnasium 1.0), the package changed under it: the cause is the versions installed, not the code.
"""
from __future__ import annotations

import ast
import builtins
import importlib.metadata
import linecache
import re
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def installed_package(filename: str) -> str | None:
    """The installed package a traceback frame's file belongs to (`.../site-packages/taming/main.py` -> taming;
    in a namespace package, its first subpackage: `google/protobuf/descriptor.py` -> google.protobuf)."""
    normal = filename.replace("dist-packages", "site-packages")
    if "site-packages" not in normal:
        return None
    root, inside = normal.split("site-packages", 1)
    parts = inside.strip("/\\").split("/")
    package = parts[0].removesuffix(".py")
    namespace = Path(root + "site-packages", parts[0])
    if len(parts) > 2 and namespace.is_dir() and not (namespace / "__init__.py").is_file():
        package = f"{package}.{parts[1]}"
    return package if package.replace(".", "_").isidentifier() else None


def installed_version(top: str) -> str | None:
    """`torch 2.14.1`: the installed distribution that provides the top-level package, and its version."""
    distribution = importlib.metadata.packages_distributions().get(top, [top])[0]
    try:
        return f"{distribution} {importlib.metadata.version(distribution)}"
    except importlib.metadata.PackageNotFoundError:
        return None


@dataclass(frozen=True)
class RefusedCall:
    """A call of the user's code whose arguments an installed package's function or class does not take."""

    called: str       # as the code names it: `librosa.util.pad_center`
    installed: str    # the distribution and its version: `librosa 0.10.2`


# Python's own words when it cannot bind a call's arguments (`f() takes 1 positional argument but 2 were given`)
_NOT_BOUND = re.compile(r"([\w.]+)\(\) (?:takes|missing \d+ required|got an unexpected keyword argument|"
                        r"got multiple values|got some positional-only)")


def refused_call(exc: BaseException) -> RefusedCall | None:
    """The call when `exc` is Python refusing, at a line of code that is not an installed package's, the arguments
    given to an installed package's function or class (the callable the message names is the one called there)."""
    match = _NOT_BOUND.match(str(exc)) if isinstance(exc, TypeError) else None
    last = exc.__traceback__
    while last is not None and last.tb_next is not None:
        last = last.tb_next
    if match is None or last is None or installed_package(last.tb_frame.f_code.co_filename) is not None:
        return None
    callee_text = _callee_at(last)
    callee = _resolved(callee_text, last.tb_frame) if callee_text else None
    if callee is None or not _named_by(match.group(1), callee):
        return None
    module = sys.modules.get(getattr(callee, "__module__", None) or "")
    package = installed_package(getattr(module, "__file__", None) or "")
    installed = installed_version(package.split(".")[0]) if package else None
    return RefusedCall(callee_text, installed) if callee_text and installed else None   # type: ignore[arg-type]


def _callee_at(tb: types.TracebackType) -> str | None:
    """The callee of the call the traceback's instruction makes (`librosa.util.pad_center` of
    `librosa.util.pad_center(window, n)`), read from the source span Python 3.11 keeps for each instruction."""
    code = tb.tb_frame.f_code
    positions = list(code.co_positions())
    index = tb.tb_lasti // 2
    if index >= len(positions) or None in positions[index]:
        return None
    line, end_line, column, end_column = positions[index]   # type: ignore[misc]
    lines = linecache.getlines(code.co_filename)[line - 1:end_line]
    if not lines:
        return None
    lines[-1] = lines[-1][:end_column]
    lines[0] = lines[0][column:]
    try:
        call = ast.parse("".join(lines).strip(), mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(call, ast.Call) or not _is_dotted(call.func):
        return None
    return ast.unparse(call.func)


def _is_dotted(node: ast.expr) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _resolved(dotted: str, frame: types.FrameType) -> Any:
    """What a dotted name names in the frame, following attributes of modules and classes only (no property of
    an instance runs)."""
    first, *rest = dotted.split(".")
    missing = object()
    value = frame.f_locals.get(first, frame.f_globals.get(first, getattr(builtins, first, missing)))
    for name in rest:
        if value is missing or not isinstance(value, (types.ModuleType, type)):
            return None
        value = getattr(value, name, missing)
    return None if value is missing else value


def _named_by(said: str, callee: Any) -> bool:
    """Whether Python's message names this callable (`pad_center`, `TransformObservation.__init__`)."""
    name = getattr(callee, "__qualname__", None) or getattr(callee, "__name__", "")
    return said == name or said.endswith(f".{name}") or (isinstance(callee, type) and said.startswith(f"{name}."))


__all__ = ["RefusedCall", "installed_package", "installed_version", "refused_call"]

"""Packages the user's code imports that this machine does not have, stood in for while its models are built.

A model file often imports what its model never touches: a logger that needs tensorflow, a plotting or metrics
package, a dataset helper. Python stops the whole import at the first missing package, so none of the file's models
could be linted. Here each missing package the user's code imports is a placeholder module: any name read from it
is a placeholder too, and using one (calling it, iterating it, subclassing it, testing it) raises the
ModuleNotFoundError the import would have raised. A model that never uses the package is built and linted as if it
were installed; one that does fails as before, for the same reason, at the line that uses it.

Only imports written in the user's files get placeholders: a library checking whether an optional package is
installed (`importlib.util.find_spec("tensorflow")`) still sees it missing.

A name an installed package no longer has (`from timm.models.helpers import overlay_external_default_cfg`, code
written for an older timm) is the same case one level down: the import of the name stops the file, whatever uses
it. Such a name, imported by the user's code, is a placeholder that raises the import's own ImportError when used.
Python's `from module import name` reads `sys.modules["module.name"]` when the module lacks the attribute, so the
placeholder goes there, and the installed module is left as it is.
"""
from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import types
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from archlint.mechanics.source import display_path

MOST_ABSENT_PACKAGES = 3   # past this many missing packages (or names) the file needs its environment


def missing_package(exc: BaseException | None) -> str | None:
    """The package a failed import lacked, when it is a top-level one (`No module named 'tensorflow'`; a missing
    `models.networks.sync_batchnorm` is a module of a package that is there: code to add, not to stand in for)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name or "." in exc.name:
        return None
    return exc.name


@dataclass
class AbsentPackages:
    """The packages stood in for in one target's import, and where a placeholder of each was first used."""

    names: list[str] = field(default_factory=list)
    imported_at: dict[str, str] = field(default_factory=dict)   # `file:line` of the first import of each
    used_at: dict[str, str] = field(default_factory=dict)
    first_failure: BaseException | None = None   # the import's failure before any placeholder: what it lacks
    lacking: dict[str, ImportError] = field(default_factory=dict)   # `module.name` an installed module lacks

    def add(self, name: str | None) -> bool:
        """Stand in for `name` too; False when it cannot be (not a missing package, already one, too many)."""
        if name is None or name in self.names or len(self.names) >= MOST_ABSENT_PACKAGES:
            return False
        self.names.append(name)
        return True

    def add_lacking(self, failure: ImportError | None, importer: str | None) -> bool:
        """Stand in for the name an installed module lacks, whose import (by the user's file at `importer`,
        `file:line`) raised `failure`; False when it cannot be (not such a failure, already one, too many)."""
        name = lacked_name(failure)
        if name is None or importer is None or name in self.lacking or len(self.lacking) >= MOST_ABSENT_PACKAGES:
            return False
        self.lacking[name] = failure   # type: ignore[assignment]
        self.imported_at[name] = importer
        sys.modules[name] = _Placeholder(name, self)   # type: ignore[assignment]
        return True

    @property
    def stood_in(self) -> bool:
        return bool(self.names or self.lacking)

    def note(self) -> str | None:
        """What the report says of the packages stood in for (None if there were none)."""
        if not self.imported_at:
            return None
        said = ", ".join(f"{name!r} (imported at {_shown(where)})" for name, where in self.imported_at.items()
                         if name not in self.lacking)
        lacked = ", ".join(f"{name.rpartition('.')[2]!r} from {name.rpartition('.')[0]} (imported at {_shown(where)})"
                           for name, where in self.imported_at.items() if name in self.lacking)
        used = "; ".join(f"{name!r} used at {_shown(where)}" for name, where in self.used_at.items())
        without = [*([f"packages this machine lacks: {said}"] if said else []),
                     *([f"names the installed packages lack: {lacked}"] if lacked else [])]
        return (f"linted without {'; and '.join(without)}; placeholders stood in for them, which "
                + (f"raise when used ({used})" if used else "the models built and traced here never used"))

    def forget(self) -> None:
        """No placeholders after all (the code needs a package it lacks): the import's failure stands."""
        self.names.clear()
        self.lacking.clear()
        self.imported_at.clear()
        self.first_failure = None
        _drop_placeholder_modules()

    def covers(self, module: str) -> bool:
        return module.partition(".")[0] in self.names

    def raise_missing(self, path: str) -> None:
        """Using a placeholder: the import's own error, with the first place it was used kept."""
        lacked = next((name for name in self.lacking if path == name or path.startswith(f"{name}.")), None)
        if lacked is not None:
            self.used_at.setdefault(lacked, _caller() or "?")
            failure = self.lacking[lacked]
            raise ImportError(str(failure), name=failure.name, path=failure.path)
        package = path.partition(".")[0]
        self.used_at.setdefault(package, _caller() or "?")
        raise ModuleNotFoundError(f"No module named {package!r} (needed for {path})", name=package)


def _shown(where: str) -> str:
    file, _, line = where.rpartition(":")
    return f"{display_path(file)}:{line}"


_IMPORTLIB = os.path.join(os.path.dirname(importlib.__file__), "")   # importlib.import_module's frames


def _caller() -> str | None:
    """`file:line` of the nearest frame that is neither this module nor the import machinery."""
    frame = sys._getframe(1)
    while frame is not None and (frame.f_code.co_filename == __file__
                                 or frame.f_code.co_filename.startswith(("<frozen importlib", _IMPORTLIB))):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else None


class _Placeholder:
    """A name read from a missing package: more placeholders when its attributes are read, the import's error
    when it is used."""

    __slots__ = ("_path", "_packages")

    def __init__(self, path: str, packages: AbsentPackages) -> None:
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_packages", packages)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)   # copy, pickle and inspect probe dunders: a placeholder has none
        return _Placeholder(f"{self._path}.{name}", self._packages)

    def __repr__(self) -> str:
        return f"<{self._path}: not installed>"

    def _used(self, *args: Any, **kwargs: Any) -> Any:
        self._packages.raise_missing(self._path)

    __call__ = __iter__ = __enter__ = __bool__ = __len__ = __getitem__ = __mro_entries__ = _used
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _used
    __setattr__ = _used


class _PlaceholderModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _Placeholder(f"{self.__name__}.{name}", self.__packages__)   # type: ignore[attr-defined]


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, packages: AbsentPackages, is_users: Callable[[str], bool]) -> None:
        self.packages = packages
        self.is_users = is_users

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        if not self.packages.covers(fullname):
            return None
        importer = _caller()
        if importer is None or not self.is_users(importer.rpartition(":")[0]):
            return None   # a library asking whether the package is installed: it is not
        self.packages.imported_at.setdefault(fullname.partition(".")[0], importer)
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _PlaceholderModule(spec.name)
        module.__path__ = []   # a package: `import tensorflow.keras.layers` finds placeholders below it
        module.__packages__ = self.packages   # type: ignore[attr-defined]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


@contextlib.contextmanager
def standing_in(packages: AbsentPackages, is_users: Callable[[str], bool]) -> Iterator[None]:
    """Imports of `packages.names` from the user's files (`is_users(path)`) give placeholders inside the block (names added while
    it runs count); afterwards every placeholder module is gone from sys.modules."""
    finder = _Finder(packages, is_users)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)
        _drop_placeholder_modules()


def _drop_placeholder_modules() -> None:
    for name in [n for n, m in sys.modules.items() if isinstance(m, (_PlaceholderModule, _Placeholder))]:
        del sys.modules[name]


def lacked_name(exc: BaseException | None) -> str | None:
    """`module.name` when a `from module import name` failed because the module, which is there, lacks the name
    (Python's own words: "cannot import name 'x' from 'module'")."""
    if not isinstance(exc, ImportError) or isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    match = re.match(r"cannot import name '([^']+)' from '([^']+)'", str(exc))
    return f"{exc.name}.{match.group(1)}" if match is not None and match.group(2) == exc.name else None

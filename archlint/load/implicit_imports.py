"""Python 2's implicit relative imports, resolved as Python 2 resolved them.

Code written for Python 2 (much of the research code still published) imports a module of its own package by its
bare name: `import layers` in `common/__init__.py` meant `common/layers.py`. Python 3 looks for a top-level
`layers` instead and fails, although the file is right there. While the user's code is imported, a top-level
import that nothing else resolves, made by a file of the user's folders, is looked for beside that file; what was
resolved this way is said, with the line that asked, so that the user knows their code relies on it.
"""
from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path
from typing import Callable, Iterator

from archlint.mechanics.source import display_path


class _BesideTheImporter(importlib.abc.MetaPathFinder):
    """Last on `sys.meta_path`: a top-level module no other finder found, looked for in the importing file's
    folder when that file is the user's (`is_users(file)`)."""

    def __init__(self, is_users: Callable[[str], bool]) -> None:
        self.is_users = is_users
        self.resolved: list[str] = []

    def find_spec(self, fullname: str, path: object = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if path is not None or "." in fullname:
            return None
        importer = _importing_frame()
        if importer is None or not self.is_users(importer[0]):
            return None
        folder = Path(importer[0]).parent
        module, package = folder / f"{fullname}.py", folder / fullname / "__init__.py"
        if package.is_file():
            spec = importlib.util.spec_from_file_location(fullname, package,
                                                          submodule_search_locations=[str(package.parent)])
        elif module.is_file():
            spec = importlib.util.spec_from_file_location(fullname, module)
        else:
            return None
        self.resolved.append(f"`import {fullname}` at {display_path(importer[0])}:{importer[1]}")
        return spec


def _importing_frame() -> tuple[str, int] | None:
    """(file, line) of the code whose import statement is being resolved: the first frame outside the import
    machinery and this module."""
    frame = sys._getframe(2)
    while frame is not None:
        file = frame.f_code.co_filename
        if not file.startswith("<frozen") and file != __file__:
            return file, frame.f_lineno
        frame = frame.f_back
    return None


@contextlib.contextmanager
def implicit_relative_imports(is_users: Callable[[str], bool]) -> Iterator[list[str]]:
    """Inside the block, the user's bare imports of modules beside them resolve as in Python 2; the list yielded
    gets each one resolved that way (`` `import layers` at common/__init__.py:1 ``)."""
    finder = _BesideTheImporter(is_users)
    sys.meta_path.append(finder)
    try:
        yield finder.resolved
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)


def implicit_imports_note(resolved: list[str]) -> str | None:
    if not resolved:
        return None
    return (f"{', '.join(dict.fromkeys(resolved))}: imported from the importing file's own folder, as Python 2 "
            "did (Python 3 does not resolve implicit relative imports; `from . import name` does)")


__all__ = ["implicit_imports_note", "implicit_relative_imports"]

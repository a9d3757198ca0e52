"""Targets to specs: files, directories and `module:attr` strings become the specs of what to load.

A TARGET is a `.py` file or notebook, a directory (searched recursively), `package.module:attr` or
`path/file.py:attr`, where attr names an nn.Module instance, an nn.Module subclass or a factory. A `ModelSpec` is
small and picklable, so a worker process can load one target.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from archlint.plugin.results import ErrorKind, TargetCause, TargetError

SKIPPED_DIRS = {"__pycache__", "site-packages", "dist-packages", "node_modules", "venv", "env"}
# Never models, and executing them has side effects (setup.py runs setuptools).
SKIPPED_FILES = {"setup.py", "conftest.py", "__main__.py"}
SOURCE_SUFFIXES = (".py", ".ipynb")     # notebooks are linted as their code cells, in order

@dataclass(frozen=True)
class ModelSpec:
    """One target to load: a file or module, optionally one attribute of it. Picklable."""

    target: str                        # a .py path or a dotted module name
    attr: str | None = None            # one model in it; None: discover all
    exclude: tuple[str, ...] = ()      # attributes linted through their own spec
    from_directory: bool = False       # found by a directory scan: a file without models is not an error

    @property
    def is_module(self) -> bool:
        return not self.target.endswith(SOURCE_SUFFIXES)

    def __str__(self) -> str:
        return f"{self.target}:{self.attr}" if self.attr else self.target



# -- targets -------------------------------------------------------------------------------------------------

def split_target(target: str) -> tuple[str, str | None]:
    """`path/file.py:Net` -> ("path/file.py", "Net"); a Windows drive colon is not an attribute."""
    head, colon, attr = target.rpartition(":")
    if colon and head and re.fullmatch(r"[A-Za-z_][\w.]*", attr) and not re.fullmatch(r"[A-Za-z]", head):
        return head, attr
    return target, None


def _python_files(directory: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                         and not (Path(root) / d / "pyvenv.cfg").exists())
        found.extend(Path(root) / f for f in sorted(files)
                     if f.endswith(SOURCE_SUFFIXES) and not f.startswith(".") and f not in SKIPPED_FILES
                     and ".ipynb_checkpoints" not in root)
    return found


def expand_targets(targets: Sequence[str]) -> tuple[list[ModelSpec], list[TargetError]]:
    """Targets as typed -> specs (directories become their .py files) and errors for missing ones."""
    specs: list[ModelSpec] = []
    errors: list[TargetError] = []
    for target in targets:
        where, attr = split_target(target)
        path = Path(where)
        if attr is None and path.is_dir():
            files = _python_files(path)
            if not files:
                errors.append(TargetError(target, "no .py files in this directory", ErrorKind.LOAD, TargetCause.NO_SUCH_TARGET))
            specs.extend(ModelSpec(str(f), from_directory=True) for f in files)
        elif path.suffix in SOURCE_SUFFIXES or path.exists():
            if not path.is_file():
                errors.append(TargetError(target, "no such file or directory", ErrorKind.LOAD, TargetCause.NO_SUCH_TARGET))
            elif path.suffix not in SOURCE_SUFFIXES:
                errors.append(TargetError(target, "not a Python file (expected .py, .ipynb, a directory or "
                                                  "module:attr)", ErrorKind.LOAD, TargetCause.NO_SUCH_TARGET))
            else:
                specs.append(ModelSpec(str(path), attr))
        elif attr is not None and re.fullmatch(r"[A-Za-z_][\w.]*", where):
            specs.append(ModelSpec(where, attr))
        else:
            errors.append(TargetError(target, "no such file or directory (a module needs an attribute: "
                                              "package.module:Name)", ErrorKind.LOAD, TargetCause.NO_SUCH_TARGET))
    return _without_duplicates(specs), errors


def _without_duplicates(specs: list[ModelSpec]) -> list[ModelSpec]:
    """Same file twice -> once; a file scanned whole skips the attributes that have their own spec."""
    unique: list[ModelSpec] = []
    for spec in specs:
        key = _spec_key(spec)
        if all(_spec_key(s) != key for s in unique):
            unique.append(spec)
    explicit: dict[str, list[str]] = {}
    for spec in unique:
        if spec.attr:
            explicit.setdefault(_spec_key(spec)[0], []).append(spec.attr.split(".")[0])
    return [ModelSpec(s.target, s.attr, tuple(explicit.get(_spec_key(s)[0], ())), s.from_directory)
            if s.attr is None else s for s in unique]


def _spec_key(spec: ModelSpec) -> tuple[str, str | None]:
    return (spec.target if spec.is_module else os.path.realpath(spec.target), spec.attr)




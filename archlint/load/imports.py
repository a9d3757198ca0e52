"""Where a name in a document comes from: its import statements resolved as the interpreter would resolve them.

A script's own folder is `sys.path[0]` and a repository's code is usually run from its root, so an absolute import
(`import TD3`, `from models import build_model`) is looked for in the document's folder and in every folder above
it up to the repository root; a relative one (`from .detr import build`) from the document's package. Only files of
the repository are answers: an import of an installed package resolves to nothing here.
"""
from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

from archlint.load.repository import folders_up_to


@dataclass(frozen=True)
class Origin:
    """The file a local name is imported from and the name it has there ("" for a module imported whole)."""

    file: Path
    name: str


def module_files(document: Path, module: str | None, level: int, root: Path) -> list[Path]:
    """The repository files `module` can be, seen from `document`: `a/b.py` or `a/b/__init__.py` under each folder
    the import may be resolved from."""
    folder = document.resolve().parent
    if level:
        for _ in range(level - 1):
            folder = folder.parent
        bases = [folder]
    else:
        bases = folders_up_to(folder, root)
    parts = module.split(".") if module else []
    found = []
    for base in bases:
        stem = base.joinpath(*parts)
        for candidate in (stem.with_name(stem.name + ".py") if parts else None, stem / "__init__.py"):
            if candidate is not None and candidate.is_file():
                found.append(candidate.resolve())
    return found


def imported_names(document: Path, tree: ast.Module, root: Path) -> dict[str, list[Origin]]:
    """Each name the document's imports bind (anywhere in it, functions included), with the repository files it
    may come from; a dotted `import a.b` also under `a.b`."""
    found: dict[str, list[Origin]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                files = module_files(document, alias.name, 0, root)
                local = alias.asname or alias.name
                found.setdefault(local, []).extend(Origin(f, "") for f in files)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":   # `from .cbam import *`: each public name the module defines
                    for file in module_files(document, node.module, node.level, root):
                        for name in _public_names(file):
                            found.setdefault(name, []).append(Origin(file, name))
                    continue
                local = alias.asname or alias.name
                origins = [Origin(f, alias.name) for f in module_files(document, node.module, node.level, root)]
                submodule = f"{node.module}.{alias.name}" if node.module else alias.name
                origins += [Origin(f, "") for f in module_files(document, submodule, node.level, root)]
                found.setdefault(local, []).extend(_with_reexports(origins, root))
    return found


MOST_REEXPORTS = 3   # a package re-exporting what its subpackage re-exports


def _with_reexports(origins: list[Origin], root: Path, depth: int = 0) -> list[Origin]:
    """The origins, and where each name really is when the file it is imported from imports it in turn (a
    package's `__init__.py` re-exporting `from .sublayer import SublayerConnection`)."""
    found = list(origins)
    for origin in origins:
        if not origin.name or depth >= MOST_REEXPORTS:
            continue
        tree = _parsed(origin.file, _modified(origin.file))
        for node in tree.body if tree is not None else []:
            if isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == origin.name for a in node.names):
                name = next(a.name for a in node.names if (a.asname or a.name) == origin.name)
                further = [Origin(f, name) for f in module_files(origin.file, node.module, node.level, root)]
                found += [o for o in _with_reexports(further, root, depth + 1) if o not in found]
    return found


def _public_names(file: Path) -> list[str]:
    """The names `from module import *` binds: its `__all__`, else its top-level classes, functions and
    assignments not starting with an underscore."""
    tree = _parsed(file, _modified(file))
    if tree is None:
        return []
    names: list[str] = []
    for statement in tree.body:
        if isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.append(statement.name)
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name) and target.id == "__all__" and \
                        isinstance(statement.value, (ast.List, ast.Tuple)):
                    return [e.value for e in statement.value.elts
                            if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                if isinstance(target, ast.Name):
                    names.append(target.id)
    return [name for name in names if not name.startswith("_")]


def _modified(file: Path) -> int:
    try:
        return file.stat().st_mtime_ns
    except OSError:
        return 0


@functools.lru_cache(maxsize=512)
def _parsed(file: Path, modified: int) -> ast.Module | None:   # `modified`: a changed file is read again
    try:
        return ast.parse(file.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return None


def calls_into(func: ast.expr, imported: dict[str, list[Origin]], file: Path, name: str) -> bool:
    """Whether a call's callee is `name` of the repository file `file`: `name` imported from it, or an attribute
    `name` of the module `file` imported whole (`TD3.TD3`, `models.detr.build`)."""
    file = file.resolve()
    if isinstance(func, ast.Name):
        return Origin(file, name) in imported.get(func.id, [])
    if isinstance(func, ast.Attribute) and func.attr == name:
        return Origin(file, "") in imported.get(ast.unparse(func.value), [])
    return False


__all__ = ["Origin", "calls_into", "imported_names", "module_files"]

"""A constructor's configuration given from the repository's own files.

Published models often take one configuration object and read a tree of settings from it (`config.model.ch`,
`cfg["arch"]["args"]`), which the training script builds from a YAML or JSON file of the repository
(`dict2namespace(yaml.safe_load(f))`, `json.load(open(args.config))`). When no site of the repository could build
the model, the constructor's source says which paths it reads of such a parameter, and a file of the repository
whose keys hold every one of them (the whole file, or a table inside it) is given in its place: as nested
namespaces when the constructor reads attributes, as dicts when it reads items. Read, never run: only the files'
data is used, and the smallest fitting configuration is tried first (a lint runs on a CPU).
"""
from __future__ import annotations

import argparse
import ast
import functools
import inspect
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from archlint.load.repository import config_paths, distance, repository_root
from archlint.mechanics.source import display_path

LARGEST_CONFIG = 100_000   # bytes: larger YAML/JSON files are data, not a model's settings
MOST_FITS = 3              # fitting configurations tried, smallest first (each is a build)
_MISSING = object()


@dataclass(frozen=True)
class TreeReads:
    """The paths a constructor reads of one parameter (`("model", "ch")` for `config.model.ch`), and how."""

    paths: frozenset[tuple[str, ...]]
    by_attribute: bool   # `config.model.ch` (a namespace) rather than `config["model"]["ch"]` (a dict)


def _chain(node: ast.expr) -> tuple[str, tuple[str, ...], bool] | None:
    """(root name, path, read by attributes) of `name.a.b` or `name["a"]["b"]`; None for anything else."""
    path: list[str] = []
    attributes = 0
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Attribute):
            path.append(node.attr)
            attributes += 1
        elif isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
            path.append(node.slice.value)
        else:
            return None
        node = node.value
    if not isinstance(node, ast.Name) or not path:
        return None
    return node.id, tuple(reversed(path)), attributes * 2 >= len(path)


def tree_reads(obj: Any, parameter: str) -> TreeReads | None:
    """What the constructor (or factory) reads of `parameter` in its own body, through local aliases
    (`m = config.model`, then `m.ch`); None when it reads nothing of it (it is handed on whole, or is not a tree)."""
    function = obj.__init__ if isinstance(obj, type) else obj
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None
    roots: dict[str, tuple[str, ...]] = {parameter: ()}
    for node in ast.walk(tree):   # aliases of a subtree: `model_config = config.model`
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            chain = _chain(node.value)
            if chain is not None and chain[0] in roots:
                roots[node.targets[0].id] = roots[chain[0]] + chain[1]
    parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    paths: set[tuple[str, ...]] = set()
    by_attribute = 0
    for node in ast.walk(tree):
        parent = parents.get(id(node))
        if isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node:
            continue   # a step of a longer chain
        chain = _chain(node) if isinstance(node, (ast.Attribute, ast.Subscript)) else None
        if chain is None or chain[0] not in roots or not isinstance(node.ctx, ast.Load):
            continue
        path = roots[chain[0]] + chain[1]
        if isinstance(parent, ast.Call) and parent.func is node:
            path = path[:-1]   # a method of the tree (`config.get(...)`, `cfg.model.items()`), not a setting
        if path:
            paths.add(path)
            by_attribute += 1 if chain[2] else -1
    # a path that is the prefix of another is read as a table on the way to it
    leaves = frozenset(p for p in paths if not any(len(q) > len(p) and q[:len(p)] == p for q in paths))
    return TreeReads(leaves, by_attribute >= 0) if leaves else None


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml's parser when PyYAML was built with it


@functools.lru_cache(maxsize=1024)
def _loaded(path: Path, mtime: float) -> Any:
    try:
        if path.stat().st_size > LARGEST_CONFIG:
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
        return json.loads(text) if path.suffix.lower() == ".json" else yaml.load(text, Loader=_YAML_LOADER)
    except (OSError, ValueError, yaml.YAMLError):
        return None


def _tables(data: Any, where: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dict]]:
    """Every mapping of a loaded file with its path in it: the file's top level first."""
    if isinstance(data, dict):
        yield where, data
        for key, value in data.items():
            if isinstance(key, str):
                yield from _tables(value, (*where, key))


def _value_at(table: dict, path: tuple[str, ...]) -> Any:
    value: Any = table
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return _MISSING
        value = value[key]
    return value


def _size(value: Any) -> float:
    """The numbers a configuration sets, summed: larger widths, depths and resolutions build larger models."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, (int, float)):
        return abs(value)
    if isinstance(value, (list, tuple)):
        return sum(_size(v) for v in value)
    return 0


def _as_read(value: Any, by_attribute: bool) -> Any:
    """The table as the constructor reads it: nested namespaces for attribute reads, dicts for item reads."""
    if isinstance(value, dict):
        items = {k: _as_read(v, by_attribute) for k, v in value.items()}
        if by_attribute and all(isinstance(k, str) and k.isidentifier() for k in items):
            return argparse.Namespace(**items)
        return items
    if isinstance(value, list):
        return [_as_read(v, by_attribute) for v in value]
    return value


def smallest_config_near(script: Path) -> Path | None:
    """The configuration a script that requires one (`--config`) is given: of the repository's YAML and JSON
    files holding a table, those nearest the script's folder, the smallest (its numbers summed) first."""
    folder = script.parent.resolve()
    found = []
    for path in config_paths(repository_root(script)):
        try:
            data = _loaded(path, path.stat().st_mtime)
        except OSError:
            continue
        if isinstance(data, dict) and data:
            found.append((distance(folder, path.parent.resolve()), _tree_size(data), str(path), path))
    return min(found)[3] if found else None


def _tree_size(value: Any) -> float:
    if isinstance(value, dict):
        return sum(_tree_size(v) for v in value.values())
    return _size(value)


@dataclass(frozen=True)
class ConfigFit:
    """Arguments read from one file of the repository, and how the report says where they came from."""

    kwargs: dict[str, Any]
    said: str


def config_arguments(obj: Any, missing: list[str], file: Path) -> list[ConfigFit]:
    """For a constructor whose missing parameters are all configuration trees it reads, the repository's files
    that hold every path it reads of each (one table per parameter, from the same file), smallest first."""
    reads = {name: tree_reads(obj, name) for name in missing}
    if not reads or any(r is None for r in reads.values()):
        return []
    fits: list[tuple[float, ConfigFit]] = []
    for path in config_paths(repository_root(file)):
        try:
            data = _loaded(path, path.stat().st_mtime)
        except OSError:
            continue
        chosen: dict[str, tuple[tuple[str, ...], dict]] = {}
        for name, read in reads.items():
            assert read is not None
            found = next(((where, table) for where, table in _tables(data)
                          if all(_value_at(table, p) is not _MISSING for p in read.paths)), None)
            if found is None:
                break
            chosen[name] = found
        if len(chosen) != len(reads):
            continue
        size = sum(_size(_value_at(table, p)) for name, (_, table) in chosen.items() for p in reads[name].paths)  # type: ignore[union-attr]
        kwargs = {name: _as_read(table, reads[name].by_attribute) for name, (_, table) in chosen.items()}  # type: ignore[union-attr]
        tables = ", ".join(f"`{name}` from {display_path(str(path))}" + (f" (its `{'.'.join(where)}` table)"
                                                                         if where else "")
                           for name, (where, _) in chosen.items())
        count = sum(len(r.paths) for r in reads.values() if r is not None)
        fits.append((size, ConfigFit(kwargs, f"built with {tables}: the file of the repository that holds all "
                                             f"{count} settings the constructor reads")))
    return [fit for _, fit in sorted(fits, key=lambda f: f[0])[:MOST_FITS]]


__all__ = ["ConfigFit", "TreeReads", "config_arguments", "smallest_config_near", "tree_reads"]


def composed_hydra_config(config_path: str | None, config_name: str | None, script: str, *stores: Any) -> Any:
    """The configuration hydra composes for a script whose main is `@hydra.main(config_path, config_name)`: the
    config folder taken relative to the script, as hydra takes it; `stores` are the script's config stores, filled
    before (they are read by name only so that the slice keeps the statements that fill them)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    folder = Path(script).resolve().parent
    directory = (folder / config_path).resolve() if config_path else folder
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(directory), version_base=None):
        return compose(config_name=config_name)

"""How models are built and fed: the command line's input shapes and the config's `models` entries."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from archlint.load.device import DEFAULT_META_ABOVE
from archlint.load.targets import split_target


@dataclass(frozen=True)
class ModelEntry:
    """Settings for one model (a `models` entry): matched to loaded models by target."""

    target: str
    input_shapes: tuple[tuple[int, ...], ...] = ()
    dtype: str | None = None
    kwargs: tuple[tuple[str, Any], ...] = ()   # a tuple so the entry stays hashable and picklable
    name: str | None = None
    ignore: tuple[str, ...] = ()
    base_dir: str = "."                          # relative file targets are relative to the config file



@dataclass(frozen=True)
class LoadOptions:
    """How models are built and fed: CLI input shapes, config entries, device. Picklable."""

    input_shapes: tuple[tuple[int, ...], ...] = ()
    dtype: str | None = None
    entries: tuple[ModelEntry, ...] = ()
    device: str = "cpu"
    meta_above: int = DEFAULT_META_ABOVE
    # `file.py:Class` -> the part as a model of the repository holding it builds it (a LoadedModel), or None: for a
    # class no code builds on its own. Given by the run (a module-level function, so the options stay picklable).
    part_builder: Callable[[str], Any] | None = None



# -- config entries ------------------------------------------------------------------------------------------------

def entry_for(entries: Sequence[ModelEntry], file: str | None, module_name: str, attr: str) -> ModelEntry | None:
    """The config entry naming this model: an exact `file:attr` entry, else one naming the whole file."""
    whole_file = None
    for entry in entries:
        where, entry_attr = split_target(entry.target)
        if where.endswith(".py"):
            path = where if os.path.isabs(where) else os.path.join(entry.base_dir, where)
            same = file is not None and os.path.realpath(path) == os.path.realpath(file)
        else:
            same = where == module_name
        if same and entry_attr == attr:
            return entry
        if same and entry_attr is None and whole_file is None:
            whole_file = entry
    return whole_file




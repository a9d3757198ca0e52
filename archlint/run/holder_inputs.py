"""A part's inputs as the model that holds it feeds them.

A repository's parts (an attention layer taking query, key, value and a mask; a transformer block taking its
sequence and a mask; a head reading a backbone's feature map) take inputs whose roles no guess from their first
layer can know. The repository says them all the same: a model of the repository builds the part in its
`__init__` and feeds it in its `forward`. When no guessed input runs, that holder is loaded as archlint loads any
target (its file, its construction sites, its own inputs, its own holder's when it is a part too), run once, and
what reaches the part's first call is kept: the part is linted on those inputs when they run on it.
"""
from __future__ import annotations

import ast
import inspect
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn

from archlint.load.callers import called_through_aliases, scope_of
from archlint.load.imports import calls_into
from archlint.load.inputs import forward_inputs
from archlint.load.models import LoadedModel, batch_of_two_to_thirty_two, iter_models
from archlint.load.repository import documents_mentioning
from archlint.load.sandbox import cpu_budget, guarded, user_stdout
from archlint.load.slicing import calls_in
from archlint.load.targets import ModelSpec
from archlint.mechanics.source import display_path
from archlint.trace.fit import runs_on

MOST_HOLDERS = 2     # holder classes tried, nearest first (each is a load of its own)
MOST_DEPTH = 2       # a block's holder may be a part too (attention <- block <- model)
HOLDER_CPU_SECONDS = 60

_depth = 0           # holders being loaded in this process, around the current one


class _Captured(Exception):
    """Raised by the hook that kept the part's inputs: the rest of the holder's forward need not run."""


def holder_fed_inputs(part: nn.Module,
                      fit: Callable[[LoadedModel], LoadedModel]) -> tuple[tuple[Any, ...], str] | None:
    """Inputs that run on `part`, as the first holder of its class that loads feeds its first instance, and the
    sentence saying so; None when no holder is found, loads or feeds inputs the part runs on. `fit` gives a
    loaded holder inputs that run on it (the session's own fitting, holders of the holder included)."""
    global _depth
    cls = type(part)
    file = _source_of(cls)
    if file is None or _depth >= MOST_DEPTH:
        return None
    _depth += 1
    try:
        for spec in _holder_specs(cls, Path(file))[:MOST_HOLDERS]:
            found = _fed_by(spec, cls, part, fit)
            if found is not None:
                return found
    finally:
        _depth -= 1
    return None


def _holder_specs(cls: type, file: Path) -> list[ModelSpec]:
    """The repository's module-level classes whose code calls the part's class (`self.attention =
    MultiHeadAttention(...)`), nearest document first; the part's own class left out."""
    found: list[ModelSpec] = []
    for document in documents_mentioning(file, frozenset({cls.__name__})):
        scope = scope_of(document) if document.kind == "code" else None
        if scope is None:
            continue
        same_file = document.path.resolve() == file.resolve()
        for statement in scope.tree.body:
            if not isinstance(statement, ast.ClassDef) or same_file and statement.name == cls.__name__:
                continue
            if any(_calls_part(call, scope, cls.__name__, file, same_file) for call in _calls_of(statement)):
                found.append(ModelSpec(str(document.path), statement.name))
    return found


def _calls_of(node: ast.ClassDef) -> Iterator[ast.Call]:
    for statement in ast.walk(node):
        if isinstance(statement, ast.stmt):
            yield from calls_in(statement)


def _calls_part(call: ast.Call, scope: Any, name: str, file: Path, same_file: bool) -> bool:
    if called_through_aliases(call, scope) != name:
        return False
    return same_file or calls_into(call.func, scope.imported, file, name)


def _fed_by(spec: ModelSpec, cls: type, part: nn.Module,
            fit: Callable[[LoadedModel], LoadedModel]) -> tuple[tuple[Any, ...], str] | None:
    models = iter_models(spec)
    try:
        holder = next((m for m in models if isinstance(m, LoadedModel)), None)
        if holder is None:
            return None
        holder = fit(holder)
        captured = _captured(holder.model, holder.example_inputs, cls)
    finally:
        models.close()   # the holder's file is imported until here
    if not captured:
        return None
    inputs, resized = batch_of_two_to_thirty_two(captured)
    if not runs_on(part, inputs):
        return None
    shapes = ", ".join("None" if t is None else str(list(t.shape)) if isinstance(t, torch.Tensor) else repr(t)
                       for t in inputs)
    return inputs, (f"inputs {shapes} as {holder.name}'s forward feeds its {cls.__name__} "
                    f"({display_path(spec.target)}:{spec.attr}){resized}")


def _captured(holder: nn.Module, inputs: tuple[Any, ...], cls: type) -> tuple[Any, ...] | None:
    """What the holder's forward passes to the first module of the part's class (the class as the holder's import
    made it: matched by name and file), or None."""
    source = _source_of(cls)
    kept: list[tuple[Any, ...]] = []

    def keep(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        kept.append(forward_inputs(module, args, kwargs, skip_with_none=True)[0])
        raise _Captured

    handles = [m.register_forward_pre_hook(keep, with_kwargs=True) for m in holder.modules()
               if type(m).__qualname__ == cls.__qualname__ and _source_of(type(m)) == source]
    if not handles:
        return None
    try:
        with user_stdout(), guarded(), torch.no_grad(), cpu_budget(HOLDER_CPU_SECONDS):
            holder.eval()(*inputs)
    except KeyboardInterrupt:
        raise
    except BaseException:   # _Captured, or the holder's forward failing or running over its budget before the part
        pass
    finally:
        for handle in handles:
            handle.remove()
    return kept[0] if kept and any(isinstance(v, torch.Tensor) for v in kept[0]) else None


def _source_of(cls: type) -> str | None:
    """The file the class's methods were compiled from (its module may be gone from sys.modules: a user module is
    removed once its target is loaded, so `inspect.getsourcefile` no longer finds it)."""
    methods = [v for v in vars(cls).values() if inspect.isfunction(v)]
    return methods[0].__code__.co_filename if methods else None


__all__ = ["holder_fed_inputs"]

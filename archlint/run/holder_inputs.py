"""A part as the model that holds it builds and feeds it.

A repository's parts (an attention layer taking query, key, value and a mask; a transformer block taking its
sequence and a mask; a head reading a backbone's feature map) take inputs whose roles no guess from their first
layer can know. The repository says them all the same: a model of the repository builds the part in its
`__init__` and feeds it in its `forward`. When no guessed input runs, that holder is loaded as archlint loads any
target (its file, its construction sites, its own inputs, its own holder's when it is a part too), run once, and
what reaches the part's first call is kept: the part is linted on those inputs when they run on it. A part whose
own construction needs what only its holder computes (`SublayerConnection(size, dropout)` given the block's sizes)
is taken from the holder the same way: a copy of its first instance there, on the inputs of that call.
"""
from __future__ import annotations

import ast
import contextlib
import copy
import dataclasses
import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import torch
from torch import nn

from archlint.load.callers import Scope, followed_alias, scope_of
from archlint.load.imports import calls_into
from archlint.load.inputs import InputInferenceError, forward_inputs, infer_inputs
from archlint.load.models import LoadedModel, batch_of_two_to_thirty_two, iter_models
from archlint.load.repository import documents_mentioning
from archlint.load.sandbox import cpu_budget, guarded, user_stdout
from archlint.load.targets import ModelSpec, split_target
from archlint.plugin.results import Note, NoteKind
from archlint.mechanics.source import display_path
from archlint.mechanics.tensors import memory_budget
from archlint.trace.fake import RunBudget
from archlint.trace.fit import runs_on

MOST_HOLDERS = 2     # holder classes tried per part, nearest first (each is a load of its own)
MOST_DEPTH = 2       # a block's holder may be a part too (attention <- block <- model)
MOST_LOADS = 4       # holder loads for one part, its holders' own holders included
HOLDER_CPU_SECONDS = 60

_depth = 0           # holders being loaded in this process, around the current one
_loads_left = 0      # of the part asked about at depth 0


class _Captured(Exception):
    """Raised by the hook that kept the part's first call: the rest of the holder's forward need not run."""


@dataclass(frozen=True)
class _Part:
    """A part's class as any import of its file makes it: its name and the file its methods were compiled from."""

    name: str
    file: str

    def is_class_of(self, module: nn.Module) -> bool:
        source = _source_of(type(module))
        return type(module).__qualname__ == self.name and source is not None and \
            os.path.realpath(source) == os.path.realpath(self.file)


def holder_fed_inputs(part: nn.Module,
                      fit: Callable[[LoadedModel], LoadedModel]) -> tuple[tuple[Any, ...], str] | None:
    """Inputs that run on `part`, as the first holder of its class that loads feeds its first instance, and the
    sentence saying so; None when no holder is found, loads or feeds inputs the part runs on. `fit` gives a
    loaded holder inputs that run on it (the session's own fitting, holders of the holder included)."""
    file = _source_of(type(part))
    if file is None:
        return None
    with contextlib.closing(_first_calls(_Part(type(part).__qualname__, file), fit)) as calls:
        for holder, (_, inputs) in calls:
            if inputs is None:
                continue
            fed, resized = batch_of_two_to_thirty_two(inputs)
            if runs_on(part, fed):
                return fed, f"inputs {_shapes(fed)} as {_fed_by(holder, type(part).__name__)}{resized}"
    return None


def part_from_holders(target: str, fit: Callable[[LoadedModel], LoadedModel]) -> LoadedModel | None:
    """The part `file.py:Class` that no code of the repository builds on its own (its sizes are computed by the
    model holding it), as the first holder of its class that loads builds it and feeds it: a copy of that instance,
    on the inputs of its first call; None when no holder builds and runs it."""
    file, name = split_target(target)
    if name is None or not file.endswith(".py"):
        return None
    unfed: LoadedModel | None = None
    with contextlib.closing(_first_calls(_Part(name, str(Path(file).resolve())), fit)) as calls:
        for holder, (instance, inputs) in calls:
            part = copy.deepcopy(instance).train()   # as its constructor left it (the holder ran in eval mode)
            built = Note(NoteKind.BUILD, f"built as {holder.name} builds it, its first {name} "
                                         f"({display_path(holder.target)}): no code of the repository builds "
                                         f"{name} on its own")
            if inputs is None:   # the holder's forward did not get to it: the part's own inputs are guessed
                unfed = unfed or _with_guessed_inputs(LoadedModel(name, target, part, (), [built], file), holder)
                continue
            fed, resized = batch_of_two_to_thirty_two(inputs)
            notes = [built, Note(NoteKind.INPUT, f"inputs {_shapes(fed)} as {_fed_by(holder, name)}{resized}")]
            return LoadedModel(name, target, part, fed, notes, file)
    return unfed


def _with_guessed_inputs(loaded: LoadedModel, holder: LoadedModel) -> LoadedModel | None:
    """The part with inputs guessed from its own first layer, as any model's are (the session fits them), said
    so; None when there is nothing to guess from."""
    try:
        inputs, said = infer_inputs(loaded.model)
    except InputInferenceError:
        return None
    note = Note(NoteKind.INPUT, f"{said} ({holder.name}'s forward did not run on the inputs tried, so it did not "
                                f"feed its {loaded.name})")
    return dataclasses.replace(loaded, example_inputs=inputs, notes=[*loaded.notes, note], inputs_guessed=True)


def _first_calls(part: _Part, fit: Callable[[LoadedModel], LoadedModel]
                 ) -> Iterator[tuple[LoadedModel, tuple[nn.Module, tuple[Any, ...] | None]]]:
    """For each holder of the part that loads and holds one (nearest first, at most MOST_HOLDERS), the holder and
    its first instance of the part with what the holder's forward passed it (None when its forward did not get
    there)."""
    global _depth, _loads_left
    if _depth >= MOST_DEPTH:
        return
    if _depth == 0:
        _loads_left = MOST_LOADS
    _depth += 1
    try:
        classes = _holder_specs(part)
        # then the model its first holder's file builds (`ResidualNet(...)` building the ResNet whose blocks hold
        # the attention module): a holder whose own arguments only a builder gives holds it there
        files = list(dict.fromkeys(ModelSpec(spec.target) for spec in classes))
        for spec in [*classes[:MOST_HOLDERS], *files[:1]]:
            if _loads_left <= 0:
                return
            _loads_left -= 1
            models = iter_models(spec)
            try:
                holder = next((m for m in models if isinstance(m, LoadedModel)), None)
                if holder is None:
                    continue
                holder = fit(holder)
                call = _first_call(holder.model, holder.example_inputs, part)
                instance = next((m for m in holder.model.modules() if part.is_class_of(m)), None)
            finally:
                models.close()   # the holder's file is imported until here
            if call is not None:
                yield holder, call
            elif instance is not None:
                yield holder, (instance, None)
    finally:
        _depth -= 1


def _holder_specs(part: _Part) -> list[ModelSpec]:
    """The repository's module-level classes whose code refers to the part's class (calls it, `self.attention =
    MultiHeadAttention(...)`, or takes it as a value, `norm_layer=ScaleNorm`), nearest document first; the part's
    own class left out. Whether a holder holds one is for its build to say."""
    file = Path(part.file)
    found: list[ModelSpec] = []
    for document in documents_mentioning(file, frozenset({part.name})):
        scope = scope_of(document) if document.kind == "code" else None
        if scope is None:
            continue
        same_file = document.path.resolve() == file.resolve()
        for statement in scope.tree.body:
            if not isinstance(statement, ast.ClassDef) or same_file and statement.name == part.name:
                continue
            if any(_names_part(node, scope, part.name, file, same_file) for node in ast.walk(statement)):
                found.append(ModelSpec(str(document.path), statement.name))
    return found


def _names_part(node: ast.AST, scope: Scope, name: str, file: Path, same_file: bool) -> bool:
    """Whether the node is a name of the part's class (an alias of the document's followed): defined in the same
    document, or imported from the part's file."""
    if not isinstance(node, (ast.Name, ast.Attribute)) or not isinstance(node.ctx, ast.Load):
        return False
    named = followed_alias(node, scope)
    if not (isinstance(named, ast.Name) and named.id == name or isinstance(named, ast.Attribute) and named.attr == name):
        return False
    return same_file or calls_into(named, scope.imported, file, name)


def _first_call(holder: nn.Module, inputs: tuple[Any, ...],
                part: _Part) -> tuple[nn.Module, tuple[Any, ...]] | None:
    """The first module of the part's class the holder's forward calls, and what it passes it (positional, as the
    part's forward orders them), or None."""
    kept: list[tuple[nn.Module, tuple[Any, ...], dict[str, Any]]] = []

    def kept_on_call(module: nn.Module) -> Callable[..., Any]:
        def forward(*args: Any, **kwargs: Any) -> Any:
            kept.append((module, args, kwargs))
            raise _Captured
        return forward

    # on the instance, not as a hook: a holder that calls `block.forward(x, mask)` skips the hooks
    parts = [m for m in holder.modules() if part.is_class_of(m)]
    if not parts:
        return None
    for module in parts:
        module.forward = kept_on_call(module)   # type: ignore[method-assign]
    try:
        # a real forward of the user's model: under the run's memory budget, as every real run of archlint is
        with user_stdout(), guarded(), torch.no_grad(), cpu_budget(HOLDER_CPU_SECONDS), \
                RunBudget(HOLDER_CPU_SECONDS, max_growth_bytes=memory_budget()):
            holder.eval()(*inputs)
    except KeyboardInterrupt:
        raise
    except BaseException:   # _Captured, or the holder's forward failing or running over its budget before the part
        pass
    finally:
        for module in parts:
            del module.forward
    if not kept:
        return None
    module, args, kwargs = kept[0]
    given = forward_inputs(module, args, kwargs, skip_with_none=True)[0]   # in its own forward's order
    return (module, given) if any(isinstance(v, torch.Tensor) for v in given) else None


def _fed_by(holder: LoadedModel, name: str) -> str:
    return f"{holder.name}'s forward feeds its {name} ({display_path(holder.target)})"


def _shapes(inputs: tuple[Any, ...]) -> str:
    return ", ".join(str(list(t.shape)) if isinstance(t, torch.Tensor) else "a function" if callable(t) else repr(t)
                     for t in inputs)


def _source_of(cls: type) -> str | None:
    """The file the class's methods were compiled from (its module may be gone from sys.modules: a user module is
    removed once its target is loaded, so `inspect.getsourcefile` no longer finds it)."""
    methods = [v for v in vars(cls).values() if inspect.isfunction(v)]
    return methods[0].__code__.co_filename if methods else None


__all__ = ["holder_fed_inputs", "part_from_holders"]

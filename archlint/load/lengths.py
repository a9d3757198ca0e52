"""The lengths a model is made for: sizes it keeps as its own integer attributes.

A model built from a configuration keeps the sizes of its data beside its layers (`self.seq_len =
configs.seq_len`, `self.pred_len = configs.pred_len`) and its forward relies on them (`x[:, -self.pred_len:]`, a
`Linear(seq_len, pred_len)` applied along the time axis, a decoder fed `label_len + pred_len` steps). Its inputs
must have those lengths, which no layer's weights say. So the built model's own integer attributes are the
candidate lengths, in the order its constructor set them, with the sums of two of those its forward reads (the
decoder's joined window). Values are read off the built model and the names its forward reads off its code; no
attribute name is looked for.
"""
from __future__ import annotations

import ast
import inspect
import itertools
from typing import Any, Iterator

from torch import nn

from archlint.mechanics.source import function_definition

MOST_LENGTH = 8192    # a larger integer is a vocabulary, a buffer size or a seed, not a window of steps
LEAST_LENGTH = 8      # fewer is a count (layers, heads, chunks, top-k), not a window of steps
MOST_LENGTHS = 6      # candidate lengths kept, the model's own first
MOST_FEATURES = 6     # candidate feature sizes of a window kept
MOST_METHOD_DEPTH = 3   # the forward's own methods followed (forward -> forecast -> encoder)


def declared_lengths(model: nn.Module) -> dict[int, str]:
    """Candidate input lengths, each with the attributes it comes from (`seq_len`, `label_len + pred_len`): the
    model's own integer attributes in the order it set them, then the sums of two that its forward reads."""
    own = {name: value for name, value in _own_sizes(model).items() if LEAST_LENGTH <= value <= MOST_LENGTH}
    found: dict[int, str] = {}
    for name, value in own.items():
        found.setdefault(value, f"`{name}`")
    read = set(attributes_read(model))
    read = [name for name in own if name in read]   # in the order the constructor set them
    for first, second in itertools.combinations(read, 2):
        total = own[first] + own[second]
        if total <= MOST_LENGTH:
            found.setdefault(total, f"`{first}` + `{second}`")
    return dict(itertools.islice(found.items(), MOST_LENGTHS))


def feature_sizes(model: nn.Module, reached: nn.Module | None, length: int) -> list[int]:
    """Candidate feature counts of a window of `length` steps whose first layer is `reached`: that layer's input
    size, the input sizes of the model's other layers that read a sequence (a convolution embedding the variables
    after a linear layer that works along the steps), then the sizes the model keeps (`enc_in`); never the window's
    own length (a layer that takes it works along the steps, after a transpose)."""
    sizes = [layer_input_size(reached), *map(layer_input_size, model.modules()), *_own_sizes(model).values()]
    return list(itertools.islice(dict.fromkeys(s for s in sizes if s and s != length), MOST_FEATURES))


def layer_input_size(layer: nn.Module | None) -> int | None:
    if isinstance(layer, nn.Linear):
        return layer.in_features
    if isinstance(layer, nn.Conv1d):
        return layer.in_channels
    if isinstance(layer, nn.RNNBase):
        return layer.input_size
    return None


def _own_sizes(model: nn.Module) -> dict[str, int]:
    """The model's own positive integer attributes, in the order its constructor set them (flags are bools)."""
    return {name: value for name, value in vars(model).items() if type(value) is int and 0 < value <= MOST_LENGTH}


def attributes_read(model: nn.Module) -> list[str]:
    """The names `self.<name>` that its forward reads, or a method of its own class that the forward calls, in
    the order they first appear."""
    names: dict[str, None] = {}
    for definition in _forward_and_its_methods(type(model)):
        for node in ast.walk(definition):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and \
                    isinstance(node.value, ast.Name) and node.value.id == "self":
                names.setdefault(node.attr)
    return list(names)


def _forward_and_its_methods(cls: type) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    seen: set[str] = set()
    pending = [("forward", 0)]
    while pending:
        name, depth = pending.pop(0)
        function = own_function(cls, name)
        definition = function_definition(function) if function is not None else None
        if definition is None or name in seen:
            continue
        seen.add(name)
        yield definition
        if depth < MOST_METHOD_DEPTH:
            pending += [(called, depth + 1) for called in _self_calls(definition)]


def own_function(cls: type, name: str) -> Any:
    """The function `name` of the model's class or of a user base class (not nn.Module's)."""
    for owner in cls.__mro__:
        if owner is nn.Module:
            return None
        found = vars(owner).get(name)
        if inspect.isfunction(found):
            return found
    return None


def _self_calls(definition: ast.AST) -> list[str]:
    return [node.func.attr for node in ast.walk(definition) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "self"]

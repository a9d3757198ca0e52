"""A model with no forward(): linted through the method that runs all of it.

Reinforcement-learning agents often have no forward; their code calls `agent.get_action_and_value(obs)` or
`agent.act(obs)`, and that method is the model as it is used. Python says which method it is by what the methods
read: the one whose code (with the module's own methods it calls) uses every submodule and parameter the model
holds is the model's forward in all but name. Methods that step an optimiser or call backward are training code
and never run. When no method uses everything (an actor-critic with `pi(x)` and `v(x)` sharing a trunk), the
fewest methods that use everything together and take the same required parameters, by name, are its forward
together: each is called on the same inputs (an agent's observation) and the forward returns what each returns.
Linting one alone would show the other's layers as never reached. With no such methods the model is said to have
no forward, with what each method reaches.

The model is linted through a view, not changed: an instance of a subclass whose forward is that method (or those
methods), sharing the model's submodules and parameters (the user's object keeps its class).
"""
from __future__ import annotations

import ast
import difflib
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from archlint.mechanics.shadowing import unshadowed
from archlint.mechanics.source import display_path, function_definition
from archlint.mechanics.training import TRAINING_CALLS

@dataclass(frozen=True)
class EntryMethod:
    name: str
    reaches: frozenset[str]     # the model's own submodules and parameters the method's code uses


def has_forward(model: nn.Module) -> bool:
    """The class implements forward(): not nn.Module's own, nor one that only raises NotImplementedError (an
    actor-critic used through `act()` and `evaluate()`, an abstract base class)."""
    forward = type(model).forward
    return getattr(forward, "__name__", "") != "_forward_unimplemented" and forward_only_raises(model) is None


def forward_only_raises(model: nn.Module) -> str | None:
    """`raise NotImplementedError("...") at net.py:11` when the class's own forward does nothing else."""
    forward = type(model).forward
    if getattr(forward, "__name__", "") == "_forward_unimplemented":   # nn.Module's: the class defines none
        return None
    definition = function_definition(forward)
    body = [s for s in definition.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))] \
        if definition is not None else []
    if not (len(body) == 1 and isinstance(body[0], ast.Raise) and body[0].exc is not None
            and "NotImplementedError" in ast.unparse(body[0].exc)):
        return None
    code = getattr(inspect.unwrap(forward), "__code__", None)
    line = code.co_firstlineno + body[0].lineno - 1 if code else None
    return f"`{ast.unparse(body[0])}`" + (f" at {display_path(code.co_filename)}:{line}" if code else "")


def entry_methods(model: nn.Module) -> list[EntryMethod]:
    """The model's public methods that could run it (not training code), with what each reaches, in source order."""
    methods = _own_methods(type(model))
    found = []
    for name, function in methods.items():
        if name.startswith("_") or name == "forward" or _trains(function):   # (a forward here only raises)
            continue
        definition = function_definition(function)
        if definition is None or not definition.args.args:   # a staticmethod: no `self` to reach parts through
            continue
        found.append(EntryMethod(name, frozenset(_reached(name, methods, set()) & _parts(model))))
    return found


def method_running_everything(model: nn.Module) -> str | None:
    """The first method that reaches every submodule and parameter the model holds, or None."""
    parts = _parts(model)
    return next((m.name for m in entry_methods(model) if parts and m.reaches == parts), None)


def methods_running_everything(model: nn.Module) -> list[str] | None:
    """The method that reaches every part, else the fewest methods (largest reach first, source order among equals)
    that reach every part together and take the same required parameters (`pi(x, softmax_dim=0)` and `v(x)`), in
    source order; None when there are none."""
    single = method_running_everything(model)
    if single is not None:
        return [single]
    parts, cover, reached = _parts(model), [], set()
    methods = entry_methods(model)
    for method in sorted(methods, key=lambda m: -len(m.reaches)):
        if method.reaches - reached:
            cover.append(method)
            reached |= method.reaches
    if not parts or reached != parts or len(cover) < 2:
        return None
    functions = _own_methods(type(model))
    required = {_required_parameters(functions[m.name]) for m in cover}
    if len(required) != 1 or not next(iter(required)):
        return None
    return [m.name for m in methods if m in cover]


def _required_parameters(function: Callable[..., Any]) -> tuple[str, ...]:
    """The names of a method's positional parameters without defaults, `self` excluded."""
    parameters = list(inspect.signature(function).parameters.values())[1:]
    return tuple(p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                 and p.default is p.empty)


def _forward_calling(cls: type, methods: list[str]) -> Callable[..., Any]:
    """A forward taking the methods' shared required parameters, by name (tracers read a forward's signature),
    that returns what each method returns for them."""
    parameters = _required_parameters(getattr(cls, methods[0]))
    namespace = {"methods": [getattr(cls, m) for m in methods]}
    listed = ", ".join(parameters)
    exec(f"def forward(self, {listed}):\n    return tuple(method(self, {listed}) for method in methods)\n", namespace)
    return namespace["forward"]


def through_method(model: nn.Module, method: str | list[str]) -> nn.Module:
    """A view of the model whose forward is `method` (or all of them, on the same inputs): same submodules and
    parameters, the model itself untouched."""
    cls = type(model)
    methods = [method] if isinstance(method, str) else method
    forward = getattr(cls, methods[0]) if len(methods) == 1 else _forward_calling(cls, methods)
    view_class = type(cls.__name__, (cls,), {"forward": forward, "__module__": cls.__module__,
                                             "__qualname__": cls.__qualname__})
    view = view_class.__new__(view_class)
    view.__dict__.update(model.__dict__)   # the parameter and submodule dicts themselves, shared
    return view


def misspelt_forward(model: nn.Module) -> str | None:
    """`foward` for a model whose class has no forward but a method spelt close to it, with where it is."""
    methods = _own_methods(type(model))
    close = difflib.get_close_matches("forward", [m for m in methods if m != "forward"], n=1, cutoff=0.7)
    if not close:
        return None
    code = getattr(inspect.unwrap(methods[close[0]]), "__code__", None)
    return f"`{close[0]}`" + (f" at {display_path(code.co_filename)}:{code.co_firstlineno}" if code else "")


def model_to_lint(model: nn.Module) -> tuple[nn.Module, str | None]:
    """The model, or for one with no forward() the view through the method that uses all of it, with a note (not
    for a misspelt forward: running the model fails, and that is what the user must hear); either one seen through
    a view on which nn.Module's methods its attributes hide work again (mechanics/shadowing.py)."""
    model, through = _through_entry(model)
    model, unhidden = unshadowed(model)
    return model, "; ".join(note for note in (through, unhidden) if note) or None


def _through_entry(model: nn.Module) -> tuple[nn.Module, str | None]:
    if has_forward(model) or misspelt_forward(model):
        return model, None
    methods = methods_running_everything(model)
    if methods is None:
        return model, None
    name = type(model).__name__
    if len(methods) == 1:
        return through_method(model, methods), (f"{name} has no forward(); linted through {name}.{methods[0]}(), the "
                                                f"method that uses all of its parts")
    called = " and ".join(f"{name}.{m}()" for m in methods)
    return through_method(model, methods), (f"{name} has no forward(); linted through {called} on the same inputs, "
                                            f"the methods that use all of its parts together")


def why_no_method(model: nn.Module) -> str:
    """What each candidate method reaches, for the message that no method runs the whole model."""
    parts = _parts(model)
    said = [f"{m.name}() uses {', '.join(sorted(m.reaches)) or 'none of them'}" for m in entry_methods(model)]
    if not said:
        return ""
    return f"; no method uses all of its parts ({', '.join(sorted(parts))}): " + "; ".join(said)


def _parts(model: nn.Module) -> set[str]:
    return {name for name, child in model.named_children() if any(True for _ in child.parameters())} \
        | {name for name, _ in model.named_parameters(recurse=False)}


def _own_methods(cls: type) -> dict[str, Callable[..., Any]]:
    """Functions of the user's classes in the model's MRO, nearest class first (an override hides its base)."""
    methods: dict[str, Callable[..., Any]] = {}
    for klass in cls.__mro__:
        if klass.__module__.startswith("torch.") or klass is object:
            continue
        for name, value in vars(klass).items():
            if inspect.isfunction(value) and name not in methods:
                methods[name] = value
    return methods


def _reached(name: str, methods: dict[str, Callable[..., Any]], seen: set[str]) -> set[str]:
    """The `self.<attr>` names a method reads, with those of the own methods it calls."""
    seen.add(name)
    definition = function_definition(methods[name])
    if definition is None:
        return set()
    reached: set[str] = set()
    for node in ast.walk(definition):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            if node.attr in methods and node.attr not in seen:
                reached |= _reached(node.attr, methods, seen)
            reached.add(node.attr)
    return reached


def _trains(function: Callable[..., Any]) -> bool:
    definition = function_definition(function)
    return definition is not None and any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in TRAINING_CALLS
        for node in ast.walk(definition))

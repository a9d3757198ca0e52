"""A model whose own attributes hide nn.Module's methods, and a view of it on which both work.

`self.modules = []` in a constructor (a list of the encoder's layers the forward indexes, `self.modules[0](x)`)
or `self.parameters = list(...)` hides `nn.Module.modules()` and `.parameters()` on that object: the model runs,
but every tool that walks a model through those methods (an optimiser, a summary, each of archlint's rules) fails
on it. The model is linted through a view, not changed: an instance of a subclass in which each hidden name is the
user's value (a list still indexes and iterates as the forward expects) that can also be called as nn.Module's
method; the view shares the model's submodules, parameters and attributes (the user's object keeps its class).
"""
from __future__ import annotations

from typing import Any, Callable

from torch import nn

MODULE_METHODS = frozenset(name for name, value in vars(nn.Module).items()
                           if callable(value) and not name.startswith("_"))


def hidden_methods(model: nn.Module) -> list[str]:
    """The names of nn.Module's methods that the model's own attributes hide, in the order they were set."""
    return [name for name in vars(model) if name in MODULE_METHODS]


def unshadowed(model: nn.Module) -> tuple[nn.Module, str | None]:
    """The model, or a view on which its hidden nn.Module methods work again, with a note saying which."""
    names = hidden_methods(model)
    if not names:
        return model, None
    cls = type(model)
    namespace: dict[str, Any] = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    for name in names:
        namespace[name] = property(_value_and_method(name), _set_value(name))
    view_class = type(cls.__name__, (cls,), namespace)
    view = view_class.__new__(view_class)
    view.__dict__.update(model.__dict__)   # the parameter and submodule dicts themselves, shared
    said = ", ".join(f"`{name}` ({type(model.__dict__[name]).__name__})" for name in names)
    return view, (f"{cls.__name__}'s attributes {said} hide nn.Module's methods of the same names "
                  f"(`model.{names[0]}()` fails, in every tool that walks a model so); linted through a view on which "
                  f"both work")


def _value_and_method(name: str) -> Callable[[nn.Module], Any]:
    method = getattr(nn.Module, name)

    def get(view: nn.Module) -> Any:
        value = view.__dict__[name]
        try:   # the user's value, of a subclass of its own type that calls the method
            hybrid = type(type(value).__name__, (type(value),), {
                "__call__": lambda _, *args, **kwargs: method(view, *args, **kwargs)})
            return hybrid(value)
        except TypeError:   # a type that cannot be subclassed or copied so: the method, which the lint needs
            return method.__get__(view)
    return get


def _set_value(name: str) -> Callable[[nn.Module, Any], None]:
    def set_value(view: nn.Module, value: Any) -> None:
        view.__dict__[name] = value
    return set_value


__all__ = ["MODULE_METHODS", "hidden_methods", "unshadowed"]


def registered(root: nn.Module, path: str) -> Any:
    """The submodule, parameter or buffer at a dotted `path`, read from the modules' own tables: an attribute of
    the class may hide a child of the same name (fx's GraphModule has a `code` property, so a traced model's
    `self.code = nn.Embedding(...)` is a string to getattr)."""
    found: Any = root
    for name in path.split(".") if path else []:
        tables = [getattr(found, table, None) for table in ("_modules", "_parameters", "_buffers")]
        table = next((t for t in tables if isinstance(t, dict) and name in t), None)
        found = table[name] if table is not None else getattr(found, name)
    return found

"""The models of a file: module-level instances, nn.Module classes and factories that are not parts of others."""
from __future__ import annotations

import ast
import functools
import inspect
import os
import re
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import torch
from torch import nn

from archlint.load.flow import returned_from, walk_scope
from archlint.mechanics.frames import ENGINE_DIR
from archlint.mechanics.source import display_path, function_definition, is_main_guard
from archlint.mechanics.training import trains

FACTORY_NAME = re.compile(r"^(build_\w+|make_\w+|create_\w+|\w+_model|get_model)$")

# -- discovery ---------------------------------------------------------------------------------------------------

@dataclass
class Candidate:
    attr: str
    kind: str          # "instance" | "class" | "factory"
    obj: Any
    line: int = 0
    builds: type | None = None     # for a factory found from its body: the model class it returns
    note: str = ""                 # said in the report of this model (e.g. sibling factories not linted)
    defaults: dict[str, Any] = field(default_factory=dict)  # config classes built with their defaults (arguments.py)
    defaults_said: dict[str, str] = field(default_factory=dict)   # how each was built: `GPTConfig()`
    sites: list[Any] | None = None   # its construction sites in the repository (load/sites.py), once looked for
    needs_site: bool = False         # a factory by data flow that needs arguments: a model only where code calls it


def _referenced_names(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            names.add(child.id)
        elif isinstance(child, ast.Attribute) and not (isinstance(child.value, ast.Name)
                                                       and child.value.id in ("self", "cls")):
            names.add(child.attr)   # `models.ResNet`; `self.vgg` is the instance's own attribute, not the name `vgg`
        elif isinstance(child, ast.Constant) and isinstance(child.value, str) and child.value.isidentifier():
            names.add(child.value)   # string annotations ("-> 'Net'")
    return names


def _top_level_statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Module-level statements, including those inside top-level if/try/with blocks."""
    pending = list(tree.body)
    while pending:
        statement = pending.pop(0)
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With)):
            if is_main_guard(statement):
                continue
            for block in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(statement, block, []) or [])
        elif isinstance(statement, ast.ExceptHandler):
            pending.extend(statement.body)


def _assigned_names(statement: ast.stmt) -> list[str]:
    targets = statement.targets if isinstance(statement, ast.Assign) else \
        [statement.target] if isinstance(statement, ast.AnnAssign) else []
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def returns_module(func: Callable[..., Any]) -> bool | None:
    """True/False when the return annotation says, None when there is none (or it cannot be resolved)."""
    try:
        hint = typing.get_type_hints(func).get("return")
    except Exception:
        hint = None
        raw = getattr(func, "__annotations__", {}).get("return")
        if raw is None:
            return None
        return "Module" in str(raw) or "Sequential" in str(raw) or None
    if hint is None:
        return None
    origin = typing.get_origin(hint) or hint
    return isinstance(origin, type) and issubclass(origin, nn.Module)


def is_factory(func: Callable[..., Any]) -> bool:
    """Annotated to return an nn.Module, or named like a model factory and not annotated otherwise, unless its
    code shows it returns no module (`make_env` returning the closure `thunk`): the name is a suspicion, the data
    flow decides where it can be read."""
    annotated = returns_module(func)
    if annotated is not None:
        return annotated
    return bool(FACTORY_NAME.match(func.__name__)) and not returns_no_module(func)


def named_like_factories(module: Any) -> list[str]:
    """Functions of the module named like model factories that its code shows return no module (said when the file
    has no model: the name was the user's intent)."""
    return [name for name, obj in vars(module).items() if inspect.isfunction(obj) and _defined_here(obj, module)
            and returns_module(obj) is None and FACTORY_NAME.match(name) and returns_no_module(obj)]


def returns_no_module(func: Callable[..., Any]) -> bool:
    """Every value the function returns is, read from its code, something other than a module: nothing, a
    constant, a literal container, a lambda or a function defined inside it."""
    definition = function_definition(func) if inspect.isfunction(func) else None
    if definition is None:
        return False
    inner_functions = {node.name for node in ast.walk(definition) if node is not definition
                       and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    returned = [node.value for node in walk_scope(definition) if isinstance(node, ast.Return)]
    not_a_module = (ast.Constant, ast.Lambda, ast.JoinedStr, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp,
                    ast.DictComp, ast.SetComp, ast.GeneratorExp, ast.Compare, ast.BoolOp)
    return all(value is None or isinstance(value, not_a_module)
               or isinstance(value, ast.Name) and value.id in inner_functions for value in returned)


def required_parameters(obj: Any) -> list[str]:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return []
    return [p.name for p in signature.parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def _defined_here(obj: Any, module: Any) -> bool:
    return getattr(obj, "__module__", None) == module.__name__


def discover(module: Any, source: str) -> list[Candidate]:
    """The models of a file, in source order: instances, classes and factories that are not parts of others."""
    tree = ast.parse(source)
    namespace = vars(module)
    candidates: list[Candidate] = []
    defs: dict[str, ast.AST] = {}
    instance_statements: list[ast.stmt] = []
    for statement in _top_level_statements(tree):
        if isinstance(statement, (ast.ClassDef, ast.FunctionDef)) and not statement.name.startswith("_"):
            obj = namespace.get(statement.name)
            if isinstance(obj, type) and issubclass(obj, nn.Module) and _defined_here(obj, module):
                candidates.append(Candidate(statement.name, "class", obj, statement.lineno))
                defs[statement.name] = statement
            elif inspect.isfunction(obj) and _defined_here(obj, module) and obj.__name__ != "example_inputs" \
                    and is_factory(obj):
                candidates.append(Candidate(statement.name, "factory", obj, statement.lineno, builds=built_class(obj)))
                defs[statement.name] = statement
            elif _bound_partial(obj, module):
                # the name's last binding is what the module holds: a stub `def vgg11_bn(): pass` that the module
                # then rebinds to `partial(_vgg, cfg="A", ...)` (setattr in a loop) is that partial
                candidates.append(Candidate(statement.name, "factory", obj, statement.lineno, builds=built_class(obj)))
                defs[statement.name] = _definition_of(obj.func, tree) or statement   # what the partial runs
            elif inspect.isfunction(obj) and _defined_here(obj, module):
                built = built_class(obj)
                if built is not None and (not required_parameters(obj) or _is_model_class(built)):
                    # one that needs arguments is a model when the repository calls it (load/models.py)
                    candidates.append(Candidate(statement.name, "factory", obj, statement.lineno, builds=built,
                                                needs_site=bool(required_parameters(obj))))
                    defs[statement.name] = statement
        for name in _assigned_names(statement):
            obj = namespace.get(name)
            # `m = model.to(device)` is the same model under a second name: linted once, as its first name; a
            # script's `criterion = nn.CrossEntropyLoss()` (a library module without weights) is not a model
            if isinstance(obj, nn.Module) and not name.startswith("_") and not _weightless_library_module(obj) and \
                    all(c.attr != name and c.obj is not obj for c in candidates):
                candidates.append(Candidate(name, "instance", obj, statement.lineno))
                instance_statements.append(statement)
            elif isinstance(obj, functools.partial) and not name.startswith("_") and built_class(obj) is not None \
                    and all(c.attr != name for c in candidates):
                # `vit_base = partial(VisionTransformer, embed_dim=768, depth=12)`: a factory written as a value
                candidates.append(Candidate(name, "factory", obj, statement.lineno, builds=built_class(obj)))
                instance_statements.append(statement)
    for candidate, definition in _dynamically_bound(namespace, module, candidates, tree):
        candidates.append(candidate)
        if definition is not None:
            defs[candidate.attr] = definition     # what it calls are its parts, as for a factory written out
    return _one_factory_per_class(_top_level_models(candidates, defs, instance_statements), module)


def _weightless_library_module(obj: nn.Module) -> bool:
    """An instance of a library's class (torch's losses, activations, pooling) that holds no parameters."""
    return next(obj.parameters(), None) is None and not _is_user_code(type(obj))


def _bound_partial(obj: Any, module: Any) -> bool:
    """A `partial` of this module's own model class or factory (what `partial(_vgg, cfg="A")` binds)."""
    return isinstance(obj, functools.partial) and built_class(obj) is not None and \
        _defined_here(obj.func, module)


def _definition_of(function: Any, tree: ast.Module) -> ast.stmt | None:
    """The top-level def or class statement of the module that defines `function`."""
    name = getattr(function, "__name__", "")
    return next((node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name),
                None)


def _dynamically_bound(namespace: dict[str, Any], module: Any, found: list[Candidate],
                       tree: ast.Module) -> list[tuple[Candidate, ast.stmt | None]]:
    """Factories the module binds by name at run time, with no statement naming them (`setattr(thismodule,
    f"{dataset}_{arch}", partial(_vgg, ...))` in a loop, `globals()[name] = ...`): partials of its own code, at
    the line that defines the function they call."""
    known = {c.attr for c in found}
    bound = []
    for name, obj in namespace.items():
        if not name.startswith("_") and name not in known and _bound_partial(obj, module):
            definition = _definition_of(obj.func, tree)
            bound.append((Candidate(name, "factory", obj, definition.lineno if definition else 1,
                                    builds=built_class(obj)), definition))
    return bound


def built_class(function: Any, depth: int = 0) -> type | None:
    """The nn.Module class a factory's return value flows from, or None: a return of a class call, of a name
    assigned one (`model = VGG(make_layers(cfg)); return model`), of a method that returns the model itself
    (`.to(device)`, `.eval()`), of a `partial` of a class, or of a call of the package's own helper that is such a
    factory (`return _vgg("vgg11_bn", "A", True, pretrained, **kw)`), a few helpers deep. A function that trains
    (a loop that steps an optimiser or calls backward) is never a factory: calling it would train."""
    if isinstance(function, functools.partial):
        inner = function.func
        return inner if isinstance(inner, type) and issubclass(inner, nn.Module) else built_class(inner, depth + 1)
    function = inspect.unwrap(function) if inspect.isfunction(function) else function
    if not inspect.isfunction(function) or depth > 4 or not _is_user_code(function):
        return None
    definition = function_definition(function)
    if definition is None or trains(definition):
        return None
    return returned_from(definition, lambda call: _class_built_by(call, function.__globals__, depth))


def _class_built_by(call: ast.Call, namespace: dict[str, Any], depth: int) -> type | None:
    """The nn.Module class a call builds: the class itself, or what a factory of the user's code it calls builds."""
    callee = _resolve(call.func, namespace)
    if isinstance(callee, type) and issubclass(callee, nn.Module):
        return callee
    if callee is not None and (inspect.isfunction(callee) or isinstance(callee, functools.partial)):
        return built_class(callee, depth + 1)
    return None


def _is_model_class(cls: type) -> bool:
    """A class a whole model is made of: the user's own, or a container of layers (nn.Sequential), not one layer."""
    return issubclass(cls, (nn.Sequential, nn.ModuleList, nn.ModuleDict)) or not cls.__module__.startswith("torch.")


def _is_user_code(function: Any) -> bool:
    """Defined in the user's files (not a library's: a library function is never read as a factory body)."""
    try:
        file = os.path.realpath(inspect.getfile(function))
    except (TypeError, OSError):
        return False
    return not any(part in file for part in ("site-packages", "dist-packages")) and not file.startswith(ENGINE_DIR) \
        and not file.startswith(os.path.dirname(torch.__file__))


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """`Name` or `a.b.Name` looked up in a module namespace, or None. A module's `__getattr__` runs code: one
    that refuses the name (supersuit's `resize_v0` raises "deprecated", an ImportError) resolves to nothing."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        try:
            return getattr(owner, node.attr, None) if owner is not None else None
        except Exception:
            return None
    return None


def _one_factory_per_class(candidates: list[Candidate], module: Any) -> list[Candidate]:
    """Of several body-found factories of one class (ResNet18, ResNet34, ...), the first is linted; its report
    names the others and how to lint them."""
    by_class: dict[type, list[Candidate]] = {}
    for candidate in candidates:
        if candidate.builds is not None:
            by_class.setdefault(candidate.builds, []).append(candidate)
    kept = []
    for candidate in candidates:
        group = by_class.get(candidate.builds) if candidate.builds is not None else None
        if group is None:
            kept.append(candidate)
        elif group[0] is candidate:
            others = [c.attr for c in group[1:]]
            if others:
                file = display_path(getattr(module, "__file__", "") or "") or "FILE"
                candidate.note = (f"{candidate.attr}() is the first of {len(group)} factories of "
                                  f"{candidate.builds.__name__} in this file; the others ({', '.join(others)}) were "
                                  f"not linted: lint one with `archlint check {file}:{others[0]}`")
            kept.append(candidate)
    return kept


def _has_own_forward(definition: ast.AST | None) -> bool:
    """The class statement defines a forward that does more than raise (NotImplementedError)."""
    if not isinstance(definition, ast.ClassDef):
        return False
    forward = next((s for s in definition.body if isinstance(s, ast.FunctionDef) and s.name == "forward"), None)
    return forward is not None and not all(
        isinstance(s, (ast.Raise, ast.Pass)) or isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
        for s in forward.body)


def _top_level_models(candidates: list[Candidate], defs: dict[str, ast.AST],
                      instance_statements: list[ast.stmt]) -> list[Candidate]:
    """Drop parts: defs used by another model def or by a module-level instance, instances inside others."""
    used: set[str] = set()
    for name, node in defs.items():
        # a subclass does not contain its base: a base with a forward of its own is a model too (UNet beside
        # SuperResUNet(UNet)); a base whose forward is abstract or missing is not
        bases = {b for base in getattr(node, "bases", []) for b in _referenced_names(base)}
        used |= _referenced_names(node) - {name} - {b for b in bases if _has_own_forward(defs.get(b))}
    for statement in instance_statements:
        used |= _referenced_names(statement.value) if getattr(statement, "value", None) else set()
    instances = [c.obj for c in candidates if c.kind == "instance"]
    inside_instances = {id(m) for inst in instances for m in list(inst.modules())[1:]}
    types_in_instances = {type(m) for inst in instances for m in inst.modules()}
    models = []
    for candidate in candidates:
        if candidate.kind == "instance":
            if id(candidate.obj) not in inside_instances:
                models.append(candidate)
        elif candidate.attr not in used and candidate.obj not in types_in_instances:
            models.append(candidate)
    return sorted(models, key=lambda c: c.line)




"""Construction sites: build a model the way its own repository builds it.

A construction site is a call in the repository's code that builds the model: `ResNet(BasicBlock, [2, 2, 2, 2])`
in the file's `__main__` block, `model = GPT(cfg)` in a README example after `cfg.vocab_size = 100`,
`models.__dict__[args.arch](depth=args.depth)` in a training script, `GaussianDiffusion(net, image_size=128)` after
`net = Unet(dim=64)`. Sites are found in every document of the repository (`repository.py`: .py files, notebooks,
README and docs examples), nearest to the model's file first.

A site is built by executing its slice: the statements on the way to the call (the enclosing blocks' earlier
statements, a loop's first item, a function's parameter defaults) that the call depends on, through the names it
reads, the names those statements read, and the statements that change those names in place
(`cfg.model_type = "gpt-mini"`, `parser.add_argument(...)`). Nothing else runs: not a training loop, not a data
download, not the rest of the script. The slice runs with the script's command line (its defaults, or a command
line a README gives for that script), under the guard of the sandbox (no file writes, no network, no processes),
one statement at a time: a statement that fails is skipped, and if the call then fails, the report says which
statement failed first. A call that does not build the model (another class of the same name) is not the model.

A registry site (`REGISTRY[key](...)`, `getattr(models, name)(...)`, `models.__dict__[args.arch](...)`) builds the
model when the registry holds it: the entry that is the model's class or factory is called with the site's
arguments, under the command line whose key selects that entry when a README gives one.

The tensors the same code then feeds the model (`model(torch.randn(8, 3, 128, 128))`) are its example inputs.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import copy
import functools
import inspect
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import torch

from archlint.load.discovery import is_main_guard, trains
from archlint.load.flow import returned_from, walk_scope
from archlint.load.inputs import forward_inputs
from archlint.load.repository import Document, documents_mentioning, repository_root
from archlint.load.sandbox import (
    OverBudget,
    Refused,
    cpu_budget,
    guarded,
    kept_stderr,
    user_code_scope,
    user_stdout,
)
from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.errors import first_line, user_error_text
from archlint.mechanics.source import function_definition, source_position

MOST_SITES = 24         # sites tried per model, nearest first (a failing one costs its slice only)
MOST_COMMAND_LINES = 6  # command lines of a README tried per script
SLICE_CPU_SECONDS = 60  # the statements before a site's call (the call itself is the model's build)


class SiteFailed(Exception):
    """A site whose code did not build the model; the message says where and why in one line; `download` when
    the cause was a download the sandbox refused."""

    def __init__(self, message: str = "", download: bool = False):
        super().__init__(message)
        self.download = download


class NotThisModel(SiteFailed):
    """The site builds something else (a registry without the model, another class of the same name)."""


@dataclass(frozen=True)
class SiteTarget:
    """What a site must build: a call named one of `names`, or a registry entry that is `obj`."""

    obj: Any                  # the class or factory of the model's file
    file: Path                # the model's file
    module: ModuleType        # its module, imported: a site in the file itself runs in its namespace

    @property
    def names(self) -> frozenset[str]:
        return frozenset({self.obj.__name__})

    @functools.cached_property
    def alternative_constructors(self) -> frozenset[str]:
        """`EfficientNet.from_name` for the class's classmethods and staticmethods that return an instance of it
        (`return cls(blocks_args, global_params)`): a call of one is a site as a call of the class is."""
        cls = self.obj
        if not isinstance(cls, type):
            return frozenset()
        found = set()
        for name, value in vars(cls).items():
            if isinstance(value, (classmethod, staticmethod)):
                definition = function_definition(value.__func__)
                if definition is not None and _returns_call_of(definition, {"cls", cls.__name__}):
                    found.add(f"{cls.__name__}.{name}")
        return frozenset(found)

    def is_it(self, value: Any) -> bool:
        """`value` is the target's class or factory (the same object, or the same code imported twice)."""
        if value is self.obj:
            return True
        try:
            return getattr(value, "__qualname__", None) == self.obj.__qualname__ and \
                os.path.realpath(inspect.getfile(value)) == os.path.realpath(inspect.getfile(self.obj))
        except (TypeError, OSError):
            return False

    def accepts(self, built: Any) -> bool:
        """An object a site built is the model: an instance of the class, or what the factory returned."""
        if isinstance(self.obj, type):
            return any(self.is_it(cls) for cls in type(built).__mro__)
        return isinstance(built, torch.nn.Module)


@dataclass
class Site:
    document: Document
    call: ast.Call
    path: list[ast.stmt]          # the statements on the way to the call, in execution order (the call's excluded)
    statement: ast.stmt           # the statement holding the call
    registry: ast.expr | None     # `REGISTRY` of `REGISTRY[key](...)`, or None for a call by name
    key: ast.expr | None
    in_target_file: bool
    tree: ast.Module | None = None  # the document's syntax tree the statements belong to
    stand_in: bool = False          # a call of another class of the same constructor shape: the model in its place

    @property
    def line(self) -> int:
        return self.call.lineno


@dataclass
class BuiltAtSite:
    """A model built at a site: the model, where (`README.md:31-37`), and what the site fed it, if anything."""

    model: Any
    where: str
    arguments: dict[str, Any]
    inputs: tuple[Any, ...] | None
    inputs_where: str | None
    inner_arguments: dict[str, dict[str, Any]] = field(default_factory=dict)   # of models built for this one


# -- reading code ----------------------------------------------------------------------------------------------------

def _bound_names(node: ast.AST) -> set[str]:
    """Names a statement binds (assignments, imports, defs, loop and with targets), nested functions excluded."""
    names: set[str] = set()
    for child in walk_scope(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
            names.add(child.id)
        elif isinstance(child, (ast.Import, ast.ImportFrom)):
            for alias in child.names:
                names.add((alias.asname or alias.name).split(".")[0] if alias.name != "*" else "*")
        elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child is not node:
            names.add(child.name)
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(node.name)
    return names


def _base_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _changed_names(statement: ast.stmt) -> set[str]:
    """Names a statement changes in place: `cfg.x = 1`, `d["k"] = v`, `parser.add_argument(...)`, `x.append(1)`."""
    changed: set[str] = set()
    for child in walk_scope(statement):
        if isinstance(child, (ast.Attribute, ast.Subscript)) and isinstance(child.ctx, ast.Store):
            base = _base_name(child)
            if base:
                changed.add(base)
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and \
            isinstance(statement.value.func, ast.Attribute):
        base = _base_name(statement.value.func.value)
        if base:
            changed.add(base)
    return changed


def _read_names(node: ast.AST) -> set[str]:
    """Every name the node reads, in nested functions too (a helper defined in the slice reads globals when
    called)."""
    return {child.id for child in ast.walk(node) if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Load)}


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _paths_to(body: list[ast.stmt], top_level: bool) -> Iterator[tuple[ast.stmt, list[ast.stmt]]]:
    """(statement, the statements executed before it on the way there) for every simple statement of a block,
    descending into compound statements: an `if` branch is taken, a loop's target bound to its first item, a
    function's parameters bound to their defaults. A module's main guard is entered only for its own sites."""
    before: list[ast.stmt] = []
    for index, statement in enumerate(body):
        # a module's function runs once the module is loaded: it sees the definitions below it too
        defined_later = [s for s in body[index + 1:] if isinstance(s, _DEFINITIONS)] \
            if top_level and isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
        for child_body, entry in _child_blocks(statement):
            for inner, inner_before in _paths_to(child_body, False):
                yield inner, [*before, *defined_later, *entry, *inner_before]
        yield statement, list(before)
        if not (top_level and is_main_guard(statement)):
            before.append(statement)


def _child_blocks(statement: ast.stmt) -> Iterator[tuple[list[ast.stmt], list[ast.stmt]]]:
    """The blocks inside a compound statement, each with the statements that enter it."""
    if isinstance(statement, ast.If):
        yield statement.body, []
        yield statement.orelse, []
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        first = ast.Assign(targets=[statement.target], value=ast.Call(
            func=ast.Name("next", ast.Load()), args=[ast.Call(ast.Name("iter", ast.Load()), [statement.iter], [])],
            keywords=[]))
        yield statement.body, [ast.fix_missing_locations(ast.copy_location(first, statement))]
    elif isinstance(statement, (ast.While, ast.With, ast.AsyncWith)):
        entry = []
        for item in getattr(statement, "items", []):
            if item.optional_vars is not None:
                entered = ast.Call(ast.Attribute(item.context_expr, "__enter__", ast.Load()), [], [])
                entry.append(ast.fix_missing_locations(ast.copy_location(
                    ast.Assign([item.optional_vars], entered), statement)))
        yield statement.body, entry
    elif isinstance(statement, ast.Try):
        yield statement.body, []
        for handler in statement.handlers:
            yield handler.body, []
    elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        yield statement.body, _parameter_defaults(statement)
    elif isinstance(statement, ast.ClassDef):   # its methods: `self.down1 = Down(64, 128)` in a model's __init__
        yield statement.body, []


def _parameter_defaults(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    """`name = default` for each parameter that has one: a site in a function runs as if it were called bare."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    pairs = list(zip(positional[len(positional) - len(arguments.defaults):], arguments.defaults))
    pairs += [(a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None]
    return [ast.fix_missing_locations(ast.copy_location(ast.Assign([ast.Name(a.arg, ast.Store())], default), function))
            for a, default in pairs]


def _slice(path: list[ast.stmt], needed: set[str]) -> list[ast.stmt]:
    """The statements of `path` the names in `needed` depend on, in order: until nothing more is added, since a
    statement that changes an object in place may come after one that reads it (`FLAGS = flags.FLAGS`, then
    `flags.DEFINE_integer("T", 1000, ...)`)."""
    kept: set[int] = set()
    needed = set(needed) | {_UNBOUND}
    while True:
        added = False
        for statement in reversed(path):
            if id(statement) in kept:
                continue
            bound, changed = _bound_names(statement), _changed_names(statement)
            if "*" in bound or bound & needed or changed & needed or changed & {"sys", "os"}:
                kept.add(id(statement))
                needed |= _read_names(statement)
                added = True
        if not added:
            return [statement for statement in path if id(statement) in kept]


# -- finding sites ---------------------------------------------------------------------------------------------------

def _registry_call(call: ast.Call) -> tuple[ast.expr, ast.expr] | None:
    """(registry, key) of `REGISTRY[key](...)` or `getattr(registry, key)(...)`."""
    if isinstance(call.func, ast.Subscript):
        return call.func.value, call.func.slice
    if isinstance(call.func, ast.Call) and isinstance(call.func.func, ast.Name) and call.func.func.id == "getattr" \
            and len(call.func.args) >= 2:
        return call.func.args[0], call.func.args[1]
    return None


def _calls_in(statement: ast.stmt) -> Iterator[ast.Call]:
    for child in walk_scope(statement):
        if isinstance(child, ast.Call):
            yield child


def _module_words(file: Path) -> frozenset[str]:
    """The names a document imports the model's module by: its stem and its package folders."""
    words = {file.stem}
    folder = file.parent
    while (folder / "__init__.py").is_file():
        words.add(folder.name)
        folder = folder.parent
    return frozenset(w for w in words if w.isidentifier())


def find_sites(target: SiteTarget) -> list[Site]:
    """The target's construction sites in its repository, nearest first (no code runs): calls of the model's class
    or factory, of the repository's functions that return what such a call built, and registry lookups."""
    file = target.file.resolve()
    builders = repository_builders(file, target.names)
    words = target.names | builders | _module_words(file)
    sites: list[Site] = []
    registry_sites: list[Site] = []
    for document in documents_mentioning(file, words):
        tree = _syntax_tree(document)
        if tree is None:
            continue
        # in a document, calls of the model's own name before calls of a builder that returns it
        found = sorted(_sites_in(document, tree, target, builders, document.path == file),
                       key=lambda site: _called_name(site.call) not in target.names)
        for site in found:
            (sites if site.registry is None else registry_sites).append(site)
        if len(sites) >= MOST_SITES:
            break
    if not sites and isinstance(target.obj, type):
        sites = _stand_in_sites(target, file)
    # calls by name first: a registry site holds the model only sometimes
    return sites[:MOST_SITES] + registry_sites[:MOST_SITES]


MOST_STAND_IN_SITES = 4


@dataclass(frozen=True)
class _ConstructorShape:
    """What a constructor requires: its required positional parameters' names, its required keyword-only names."""

    positional: tuple[str, ...]
    keywords: frozenset[str]

    def stands_for(self, other: "_ConstructorShape") -> bool:
        """The same requirements: the same keyword-only names (some) and as many positional ones (`net` or `model`
        first), or exactly the same names; one positional parameter alone (`Block(dim)`, `Net(width)`) says
        nothing of what a class is for."""
        if self.keywords != other.keywords or len(self.positional) != len(other.positional):
            return False
        return bool(self.keywords) or self.positional == other.positional


def _constructor_shape(arguments: ast.arguments) -> _ConstructorShape | None:
    """None when the constructor requires nothing (any class could stand in for it)."""
    positional = [*arguments.posonlyargs, *arguments.args][1:]   # without self
    required = tuple(a.arg for a in positional[:len(positional) - len(arguments.defaults)])
    keywords = frozenset(a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is None)
    return _ConstructorShape(required, keywords) if required or keywords else None


def _shape_of_class(cls: type) -> _ConstructorShape | None:
    definition = function_definition(cls.__init__)
    return _constructor_shape(definition.args) if definition is not None else None


def _stand_in_sites(target: SiteTarget, file: Path) -> list[Site]:
    """Sites of the repository's other classes whose constructors require what the model's requires
    (`_ConstructorShape.stands_for`): variants of one interface (diffusion wrappers, backbones) of which a README
    builds one. The model is built in their place, with their arguments."""
    shape = _shape_of_class(target.obj)
    if shape is None:
        return []
    siblings = set()
    for document in documents_mentioning(file, frozenset({"__init__"})):
        tree = _syntax_tree(document) if document.kind == "code" else None
        for node in ast.walk(tree) if tree is not None else []:
            init = next((f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"), None) \
                if isinstance(node, ast.ClassDef) and node.name != target.obj.__name__ else None
            sibling = _constructor_shape(init.args) if init is not None else None
            if sibling is not None and sibling.stands_for(shape):
                siblings.add(node.name)
    if not siblings:
        return []
    stand_in = SiteTarget(target.obj, target.file, target.module)
    found: list[Site] = []
    for document in documents_mentioning(file, frozenset(siblings)):
        tree = _syntax_tree(document)
        if tree is None or document.path == file:
            continue
        for site in _sites_in(document, tree, stand_in, frozenset(siblings), False):
            if site.registry is None and _called_name(site.call) in siblings:
                site.stand_in = True
                found.append(site)
        if len(found) >= MOST_STAND_IN_SITES:
            break
    return found[:MOST_STAND_IN_SITES]


MOST_BUILDER_DEPTH = 3   # helpers between a site and the model's class: create_model_and_diffusion -> create_model -> UNet


def repository_builders(file: Path, names: frozenset[str]) -> frozenset[str]:
    """The repository's module-level functions whose return value flows from a call of one of `names`, or of another
    such function, a few helpers deep (`def create_model(...): return UNetModel(...)`, then `model =
    create_model(...); return model, diffusion`): calling one builds the model, so its calls are sites too. Read,
    never run; a function that trains is not a builder (calling it would train)."""
    known = set(names)
    for _ in range(MOST_BUILDER_DEPTH):
        found = set()
        for document in documents_mentioning(file, frozenset(known)):
            tree = _syntax_tree(document) if document.kind == "code" else None
            for function in tree.body if tree is not None else []:
                if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and function.name not in known \
                        and _returns_call_of(function, known) and not trains(function):
                    found.add(function.name)
        if not found:
            break
        known |= found
    return frozenset(known - names)


def _called_name(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else \
        call.func.attr if isinstance(call.func, ast.Attribute) else None


def _returns_call_of(function: ast.FunctionDef | ast.AsyncFunctionDef, names: set[str]) -> bool:
    """A return value of the function flows from a call named one of `names`."""
    return returned_from(function, lambda call: _called_name(call) in names or None) is not None


@functools.lru_cache(maxsize=1024)
def _syntax_tree(document: Document) -> ast.Module | None:
    return parse_leniently(document.source)


def parse_leniently(source: str, attempts: int = 20) -> ast.Module | None:
    """The document's syntax tree; a top-level block that is not Python 3 (`print x`, `.cuda(async=True)` of
    code written for an older Python) is left out, line numbers kept, so the rest can still build the model."""
    lines = source.splitlines()
    for _ in range(attempts):
        try:
            return ast.parse("\n".join(lines))
        except SyntaxError as exc:
            if not exc.lineno or exc.lineno > len(lines):
                return None
            start = exc.lineno - 1
            while start > 0 and (not lines[start].strip() or lines[start][0].isspace()):
                start -= 1
            end = exc.lineno
            while end < len(lines) and (not lines[end].strip() or lines[end][0].isspace()):
                end += 1
            lines[start:end] = [""] * (end - start)
    return None


def _sites_in(document: Document, tree: ast.Module, target: SiteTarget, builders: frozenset[str],
              in_file: bool) -> Iterator[Site]:
    module_level = {id(s) for s in tree.body} if in_file else set()   # already ran when the file was imported
    names = target.names | builders
    mentions_name = any(re.search(rf"\b{re.escape(n)}\b", document.source) for n in names)
    if not in_file and any(isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name in target.names
                           for n in ast.walk(tree)):
        mentions_name = False   # a file with its own class of that name (variants side by side): not this model
    paths = list(_paths_to(tree.body, True))
    enclosing = _enclosing_functions(tree)
    aliases = _aliases(tree)
    for statement, path in paths:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For,
                                  ast.While, ast.With, ast.Try, ast.AsyncFor, ast.AsyncWith)):
            continue
        for call in _calls_in(statement):
            registry = _registry_call(call) if not in_file else None
            if not (_called_name(call) in names and mentions_name) and registry is None \
                    and ast.unparse(call.func) not in target.alternative_constructors:
                continue
            if "self" in _read_names(call):   # built from an instance's state: it cannot run without one
                continue
            for way in _ways_to(statement, path, enclosing, paths, aliases):
                yield Site(document, call, [s for s in way if id(s) not in module_level], statement,
                           registry[0] if registry else None, registry[1] if registry else None, in_file, tree)


def _enclosing_functions(tree: ast.Module) -> dict[int, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Statement id -> the innermost function around it."""
    found: dict[int, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for function in ast.walk(tree):   # breadth first: an inner function comes later and wins
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.stmt) and node is not function:
                    found[id(node)] = function
    return found


MOST_CALLER_DEPTH = 3   # helpers of helpers followed up to a call that binds everything (`_load_model` -> `_segm`)


def _ways_to(statement: ast.stmt, path: list[ast.stmt],
             enclosing: dict[int, ast.FunctionDef | ast.AsyncFunctionDef], paths: list[tuple[ast.stmt, list[ast.stmt]]],
             aliases: dict[str, str], depth: int = 0) -> Iterator[list[ast.stmt]]:
    """The statement's path; in a function with required parameters (`def _build(embed_dim, depth)`), the path
    through each call of the function in the document (`return _build(embed_dim=768, depth=12)`) instead, its
    arguments bound to the parameters (the first few calls), and so on up through the callers' own functions."""
    function = enclosing.get(id(statement))
    if function is None or not _required(function):
        yield path
        return
    inside = next((p for s, p in _paths_to(function.body, False) if s is statement), [])
    parametrized = _parametrize_values(function, aliases)
    if parametrized and not set(_required(function)) - _bound_by(parametrized):
        # a test: its parameters take the first values of its @pytest.mark.parametrize decorators
        yield [*path[:len(path) - len(inside)], *parametrized, *inside]
        return
    ways = 0
    for caller, caller_path in paths:
        for call in _calls_in(caller):
            if not (isinstance(call.func, ast.Name) and call.func.id == function.name and ways < 2):
                continue
            bound = _bound_arguments(function, call)
            if bound is None:
                continue
            callers_ways = _ways_to(caller, caller_path, enclosing, paths, aliases, depth + 1) \
                if depth < MOST_CALLER_DEPTH else iter([caller_path])
            way = next(callers_ways, caller_path)
            ways += 1
            yield [*way, *bound, *inside]
    if not ways:
        yield [*path, _unbound_marker(function)]


def _parametrize_values(function: ast.FunctionDef | ast.AsyncFunctionDef, aliases: dict[str, str]) -> list[ast.stmt]:
    """`name = first value` for each `@pytest.mark.parametrize("name", [values])` (or `"a, b"`, `[(1, 2), ...]`) of
    a test function, the decorator also by another name the module gives it (`param = pytest.mark.parametrize`)."""
    bound: list[ast.stmt] = []
    for decorator in function.decorator_list:
        called = ast.unparse(decorator.func) if isinstance(decorator, ast.Call) else ""
        if not (isinstance(decorator, ast.Call) and aliases.get(called, called).endswith("parametrize")
                and len(decorator.args) >= 2 and isinstance(decorator.args[0], ast.Constant)
                and isinstance(decorator.args[0].value, str)):
            continue
        names = [n.strip() for n in decorator.args[0].value.split(",") if n.strip()]
        first = ast.Subscript(decorator.args[1], ast.Constant(0), ast.Load())
        target: ast.expr = ast.Name(names[0], ast.Store()) if len(names) == 1 else \
            ast.Tuple([ast.Name(n, ast.Store()) for n in names], ast.Store())
        bound.append(ast.fix_missing_locations(ast.copy_location(ast.Assign([target], first), decorator)))
    return bound


def _aliases(tree: ast.Module) -> dict[str, str]:
    """Names the module binds, once, to another dotted name (`param = pytest.mark.parametrize`), as source text."""
    found: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, (ast.Name, ast.Attribute)):
            found[statement.targets[0].id] = ast.unparse(statement.value)
    return found


def _bound_by(statements: list[ast.stmt]) -> set[str]:
    return set().union(*(_bound_names(s) for s in statements)) if statements else set()


_UNBOUND = "__archlint_unbound__"


def _unbound_marker(function: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.stmt:
    """A statement recording, for the error message, which parameters no call binds (`load_model(name)`)."""
    required = _required(function)
    said = f"{function.name}(), whose required parameter{'s' if len(required) > 1 else ''} " + \
        ", ".join(f"`{r}`" for r in required)
    marker = ast.Assign([ast.Name(_UNBOUND, ast.Store())], ast.Constant(said))
    return ast.fix_missing_locations(ast.copy_location(marker, function))


def _required(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    required = [a.arg for a in positional[:len(positional) - len(arguments.defaults)]]
    required += [a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is None]
    return [r for r in required if r not in ("self", "cls")]


def _bound_arguments(function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> list[ast.stmt] | None:
    """`parameter = argument` for a call of the function (defaults for the rest), or None when the call cannot be
    bound statically (`*args`, `**kwargs` of unknown keys, a required parameter not given)."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > len(positional) and arguments.vararg is None:
        return None
    if any(k.arg is None for k in call.keywords):
        return _bound_from_mapping(function, call)
    values: dict[str, ast.expr] = {p.arg: a for p, a in zip(positional, call.args)}
    extra = {k.arg: k.value for k in call.keywords if k.arg not in {p.arg for p in [*positional, *arguments.kwonlyargs]}}
    values.update({k.arg: k.value for k in call.keywords if k.arg not in extra})
    if extra and arguments.kwarg is None:
        return None
    if arguments.vararg is not None:
        values[arguments.vararg.arg] = ast.Tuple(list(call.args[len(positional):]), ast.Load())
    if arguments.kwarg is not None:
        values[arguments.kwarg.arg] = ast.Dict([ast.Constant(k) for k in extra], list(extra.values()))
    defaults = {s.targets[0].id: s for s in _parameter_defaults(function)}   # type: ignore[attr-defined]
    if any(name not in values for name in _required(function)):
        return None
    bound = [ast.fix_missing_locations(ast.copy_location(ast.Assign([ast.Name(n, ast.Store())], v), call))
             for n, v in values.items()]
    return bound + [s for n, s in defaults.items() if n not in values]


_MAPPING = "__archlint_keywords__"


def _bound_from_mapping(function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> list[ast.stmt] | None:
    """A call with `**mapping` (`create_model(**vars(args))`, `build(**config)`) bound as Python binds it, when it
    runs: the keywords merged into one dict, then each parameter its keyword, else its default; a required one the
    mapping lacks fails there (KeyError), and the site says so."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    if arguments.vararg is not None or arguments.kwarg is not None:
        return None
    merged = ast.Dict([None if k.arg is None else ast.Constant(k.arg) for k in call.keywords],
                      [k.value for k in call.keywords])
    given = {p.arg: a for p, a in zip(positional, call.args)}
    defaults = {s.targets[0].id: s.value for s in _parameter_defaults(function)}   # type: ignore[attr-defined]
    statements: list[ast.stmt] = [ast.Assign([ast.Name(_MAPPING, ast.Store())], merged)]
    for parameter in [*positional, *arguments.kwonlyargs]:
        name = parameter.arg
        if name in given:
            value: ast.expr = given[name]
        else:
            lookup = ast.Subscript(ast.Name(_MAPPING, ast.Load()), ast.Constant(name), ast.Load())
            value = lookup if name not in defaults else ast.IfExp(
                ast.Compare(ast.Constant(name), [ast.In()], [ast.Name(_MAPPING, ast.Load())]), lookup, defaults[name])
        statements.append(ast.Assign([ast.Name(name, ast.Store())], value))
    return [ast.fix_missing_locations(ast.copy_location(statement, call)) for statement in statements]


# -- command lines ---------------------------------------------------------------------------------------------------

_COMMAND = re.compile(r"(?:^|[\s;&|`])python[0-9.]*\s+(?:-u\s+)?(\S+\.py)\b(.*)")


def command_lines(script: Path) -> list[list[str]]:
    """The arguments the repository's READMEs and shell scripts run `script` with (`python cifar.py -a resnet
    --depth 110`), in the order they appear, nearest documents first."""
    root = repository_root(script)
    found: list[list[str]] = []
    candidates = sorted((p for p in _text_files(root)), key=lambda p: len(p.relative_to(root).parts))
    for path in candidates:
        try:
            text = path.read_text(encoding="utf-8", errors="replace").replace("\\\n", " ")
        except OSError:
            continue
        for line in text.splitlines():
            match = _COMMAND.search(line)
            if match and Path(match.group(1)).name == script.name:
                try:
                    arguments = shlex.split(match.group(2).split("#")[0].split("|")[0].split("&&")[0].split(">")[0])
                except ValueError:
                    continue
                if arguments not in found:
                    found.append(arguments)
    return found


def _text_files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__")]
        for name in files:
            if name.endswith((".md", ".rst", ".sh", ".txt", ".markdown")):   # READMEs, TRAINING.md, run scripts
                yield Path(folder) / name
        if folder.count(os.sep) - str(root).count(os.sep) > 3:
            dirs[:] = []


# -- building at a site ---------------------------------------------------------------------------------------------

@dataclass
class _Run:
    namespace: dict[str, Any]
    failures: list[Failure]
    without_weights: set[str] = field(default_factory=set)   # weight keywords set to none (`pretrained=False`)
    placeholders: list[str] = field(default_factory=list)    # required command-line arguments given placeholders


@dataclass(frozen=True)
class Failure:
    """A statement of a slice that failed: where and why, in one line; whether it was a refused download."""

    text: str
    download: bool = False


def _execute(statements: list[ast.stmt], namespace: dict[str, Any], document: Document,
             before_each: Callable[[], None] = lambda: None) -> list[Failure]:
    """Run statements one at a time; a failing one is skipped and said (`train.py:12: FileNotFoundError: ...`)."""
    failures = []
    for statement in statements:
        before_each()
        code = compile(ast.Module([statement], type_ignores=[]), str(document.path), "exec")
        try:
            with kept_stderr() as stderr:
                exec(code, namespace)
        except KeyboardInterrupt:
            raise
        except SystemExit as exc:
            said = [line.split(": error: ", 1)[1] for line in stderr.getvalue().splitlines() if ": error: " in line]
            failures.append(Failure(f"{_position(document, statement.lineno)}: the script's command line: "
                                    f"{said[-1] if said else f'sys.exit({exc.code!r})'}"))
        except Exception as exc:
            said = first_line(exc) if isinstance(exc, Refused) else f"{type(exc).__name__}: {first_line(exc)}"
            failures.append(Failure(f"{_position(document, statement.lineno)}: {said}", Cause.NETWORK in causes(exc)))
    return failures


def _position(document: Document, line: int) -> str:
    """`README.md:31`, `../../train.py:80`, `demo.ipynb:cell 4:line 2`: relative to where archlint runs, however
    far up the repository the document is (it is always in the model's own repository)."""
    shown = os.path.relpath(document.path)
    if document.kind == "text":
        return f"{shown}:{line}"
    return source_position(shown, line)


def _namespace(site: Site, target: SiteTarget) -> dict[str, Any]:
    """The globals a site's statements run in: the model's module for a site in its own file; else a fresh module
    named as the document's module is (`segment.build`), so that its relative imports work."""
    if site.in_target_file:
        return dict(vars(target.module))
    package = _package_of(site.document.path)
    name = f"{package}.{site.document.path.stem}" if package else "__archlint_site__"
    return {"__name__": name, "__package__": package, "__file__": str(site.document.path),
            "__builtins__": __builtins__}


def _package_of(path: Path) -> str | None:
    """The dotted package a .py file belongs to (its folders with __init__.py), or None."""
    parts: list[str] = []
    folder = path.parent
    while (folder / "__init__.py").is_file() and path.suffix == ".py":
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or None


def _site_statements(site: Site) -> list[ast.stmt]:
    """The slice of a site: the statements its call depends on, then the bindings of the comprehensions around
    it."""
    return [*_slice(site.path, _read_names(site.call) | _read_names_of_comprehensions(site)),
            *_comprehension_bindings(site)]


def _enclosing_comprehensions(site: Site) -> list[ast.comprehension]:
    """The `for ... in ...` clauses around the site's call inside its statement, outermost first."""
    def around(node: ast.AST, clauses: list[ast.comprehension]) -> list[ast.comprehension] | None:
        if node is site.call:
            return clauses
        inner = clauses + list(node.generators) if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp,
                                                                       ast.GeneratorExp)) else clauses
        for child in ast.iter_child_nodes(node):
            found = around(child, inner)
            if found is not None:
                return found
        return None
    return around(site.statement, []) or []


def _read_names_of_comprehensions(site: Site) -> set[str]:
    return set().union(*(_read_names(clause.iter) for clause in _enclosing_comprehensions(site)))


def _comprehension_bindings(site: Site) -> list[ast.stmt]:
    """A call inside `[Block(dim, i) for i in range(depth)]` is run for the comprehension's first item, the way a
    loop's body is: `i = next(iter(range(depth)))`."""
    bindings: list[ast.stmt] = []
    for clause in _enclosing_comprehensions(site):
        first = ast.Call(ast.Name("next", ast.Load()), [ast.Call(ast.Name("iter", ast.Load()), [clause.iter], [])], [])
        target = _stored(clause.target)
        bindings.append(ast.copy_location(ast.Assign([target], first), clause.iter))
    return [ast.fix_missing_locations(binding) for binding in bindings]


def _stored(target: ast.expr) -> ast.expr:
    """A comprehension's target as an assignment target (the same names, stored)."""
    copied = copy.deepcopy(target)
    for node in ast.walk(copied):
        if hasattr(node, "ctx"):
            node.ctx = ast.Store()
    return copied


def _evaluate(node: ast.expr, namespace: dict[str, Any], document: Document) -> Any:
    expression = ast.fix_missing_locations(ast.Expression(node))
    return eval(compile(expression, str(document.path), "eval"), namespace)


def _arguments(call: ast.Call, namespace: dict[str, Any], document: Document) -> tuple[tuple[Any, ...], dict[str, Any]]:
    args: list[Any] = []
    for argument in call.args:
        value = _evaluate(argument.value if isinstance(argument, ast.Starred) else argument, namespace, document)
        args.extend(value if isinstance(argument, ast.Starred) else [value])
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        value = _evaluate(keyword.value, namespace, document)
        if keyword.arg is None:
            kwargs.update(value)
        else:
            kwargs[keyword.arg] = value
    return tuple(args), kwargs


def _registry_entry(registry: Any, target: SiteTarget) -> Any:
    entries = vars(registry) if isinstance(registry, ModuleType) else registry
    if isinstance(entries, dict):
        return next((v for v in list(entries.values()) if target.is_it(v)), None)
    if isinstance(entries, (list, tuple)):
        return next((v for v in entries if target.is_it(v)), None)
    return next((getattr(registry, n) for n in dir(registry) if target.is_it(getattr(registry, n, None))), None)


def _where(site: Site, statements: list[ast.stmt]) -> str:
    """`README.md:31-37`: from the slice's first statement that is not an import or a definition, to the call."""
    work = [s for s in statements if not isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef,
                                                        ast.AsyncFunctionDef)) and s.lineno <= site.line]
    first = min((s.lineno for s in work), default=site.line)
    last = getattr(site.statement, "end_lineno", site.line) or site.line
    start, end = _position(site.document, first), _position(site.document, last)
    if last == first:
        return start
    if site.document.kind == "notebook":   # `demo.ipynb:cell 4:line 2` to `cell 5:line 3`
        return f"{start} to {end.split(':', 1)[1]}"
    return f"{start}-{last}"


@contextlib.contextmanager
def _command_line(argv: list[str], document: Document) -> Iterator[list[str]]:
    """sys.argv as the script sees it when run with `argv`; an argparse parser that requires arguments the command
    line does not give (the data folder a training script takes, `DIR`, `--dataset`) gets placeholders for them, and
    a device that defaults to CUDA on a machine without one is the CPU, so the statements that build the model run:
    what was given is named in the list yielded (`DIR='.'`, `--device='cpu'`), for the report."""
    saved, original = sys.argv, argparse.ArgumentParser.parse_known_args
    sys.argv = [str(document.path), *argv]
    filled: list[str] = []

    def with_placeholders(parser: argparse.ArgumentParser, args: Any = None, namespace: Any = None) -> Any:
        given = list(sys.argv[1:] if args is None else args)
        parsed, rest = original(parser, [*given, *_placeholders(parser, given, filled)], namespace)
        for name, value in vars(parsed).items():
            if isinstance(value, str) and CUDA_DEVICE.fullmatch(value) and not torch.cuda.is_available():
                setattr(parsed, name, "cpu")
                filled.append(f"--{name}='cpu' (no GPU here)")
        return parsed, rest

    argparse.ArgumentParser.parse_known_args = with_placeholders   # type: ignore[method-assign]
    try:
        yield filled
    finally:
        sys.argv = saved
        argparse.ArgumentParser.parse_known_args = original   # type: ignore[method-assign]
        _unparse_absl_flags()


CUDA_DEVICE = re.compile(r"cuda(:\d+)?")


def _parse_absl_flags(filled: list[str]) -> None:
    """absl's FLAGS, defined by the site's code but parsed only by the `app.run(main)` a slice never runs: parsed here
    from the script's command line, with their defaults (unparsed again when the site is done)."""
    flags = sys.modules.get("absl.flags")
    if flags is None or flags.FLAGS.is_parsed():
        return
    try:
        flags.FLAGS(sys.argv, known_only=True)
    except Exception:   # a required flag or a bad value: the statement that reads it says so
        return
    filled.append("absl flags at their defaults")


def _unparse_absl_flags() -> None:
    flags = sys.modules.get("absl.flags")
    if flags is not None and flags.FLAGS.is_parsed():
        flags.FLAGS.unparse_flags()


def _placeholders(parser: argparse.ArgumentParser, given: list[str], filled: list[str]) -> list[str]:
    """Values for the arguments `parser` requires that `given` lacks: a required flag, and the positionals when no
    positional value is given; the first choice when there are choices, 1 for a number, else `.`."""
    added: list[str] = []
    positional_given = any(not token.startswith("-") for token in given)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.nargs == 0:
            continue
        if action.option_strings:
            if not action.required or any(token.split("=", 1)[0] in action.option_strings for token in given):
                continue
            value = _placeholder(action)
            added += [action.option_strings[0], value]
        elif not positional_given and action.nargs not in ("?", "*", argparse.REMAINDER):
            value = _placeholder(action)
            added.append(value)
        else:
            continue
        filled.append(f"{action.option_strings[0] if action.option_strings else action.metavar or action.dest}={value!r}")
    return added


def _placeholder(action: argparse.Action) -> str:
    if action.choices:
        return str(next(iter(action.choices)))
    return "1" if action.type in (int, float) else "."


def _argv_variants(site: Site, target: SiteTarget) -> list[list[str]]:
    """The script's own defaults first, then the command lines its READMEs run it with; for a registry site, the
    command lines that name the model come first (they select its entry)."""
    if site.document.kind != "code" or site.in_target_file:
        return [[]]
    lines = command_lines(site.document.path)[:MOST_COMMAND_LINES]
    if site.registry is None:
        return [[], *lines]
    words = {w.lower() for w in target.names} | {target.obj.__name__.lower()}
    naming = [a for a in lines if any(token.lower().strip("'\"") in words for token in a)]
    return [*naming, [], *[a for a in lines if a not in naming]]


# Keywords that ask for downloaded weights (`models.resnet50(pretrained=True)` around which a README builds its
# wrapper): archlint lints the architecture, which is the same without them, and never downloads.
WEIGHT_KEYWORDS = {"pretrained": False, "pretrained_backbone": False, "weights": None, "weights_backbone": None}


class _WithoutWeights(ast.NodeTransformer):
    """A copy of the code with every weight keyword set to no weights; `changed` says which were."""

    def __init__(self) -> None:
        self.changed: set[str] = set()

    def visit_keyword(self, node: ast.keyword) -> ast.keyword:
        if node.arg in WEIGHT_KEYWORDS and not (isinstance(node.value, ast.Constant) and not node.value.value):
            self.changed.add(f"{node.arg}={WEIGHT_KEYWORDS[node.arg]}")
            return ast.copy_location(ast.keyword(node.arg, ast.copy_location(
                ast.Constant(WEIGHT_KEYWORDS[node.arg]), node.value)), node)
        return node


def _without_weights(nodes: list[Any]) -> tuple[list[Any], set[str]]:
    rewrite = _WithoutWeights()
    return [rewrite.visit(copy.deepcopy(node)) for node in nodes], rewrite.changed


def _build_once(site: Site, target: SiteTarget, argv: list[str]) -> tuple[Any, dict[str, Any], _Run]:
    (*statements, call), unweighted = _without_weights([*_site_statements(site), site.call])
    namespace = _namespace(site, target)
    with _command_line(argv, site.document) as placeholders, user_stdout(), guarded():
        try:
            with cpu_budget(SLICE_CPU_SECONDS):
                failures = _execute(statements, namespace, site.document, lambda: _parse_absl_flags(placeholders))
        except OverBudget as exc:
            raise SiteFailed(f"the code before the call: {exc}") from None
        _parse_absl_flags(placeholders)
        run = _Run(namespace, failures, unweighted, placeholders)
        standing_in = False   # the model in the place of the class called there: its own call's failure is said
        try:
            if site.stand_in:
                # the class called there must be one of the same requirements (another class may share its name)
                called = _evaluate(call.func, namespace, site.document)
                shape, theirs = _shape_of_class(target.obj), isinstance(called, type) and _shape_of_class(called)
                if not (shape and theirs and theirs.stands_for(shape)):
                    raise NotThisModel("the class called there requires other arguments than this model")
                callee, standing_in = target.obj, True
            elif site.registry is None:
                callee = _evaluate(call.func, namespace, site.document)
                if isinstance(callee, type) and isinstance(target.obj, type) and not target.is_it(callee) \
                        and callee.__name__ == target.obj.__name__:
                    # a variant beside its namesake takes the arguments the repository gives it
                    callee, standing_in = target.obj, True
            else:
                callee = _registry_entry(_evaluate(site.registry, namespace, site.document), target)
                if callee is None:
                    raise NotThisModel("the registry there does not hold this model")
            args, kwargs = _arguments(call, namespace, site.document)
            if standing_in:   # the keywords the other class took and this one does not know stay out
                kwargs = _accepted(callee, kwargs)
            built = callee(*args, **kwargs)
        except SiteFailed:
            raise
        except Exception as exc:
            said = user_error_text(exc)
            if site.stand_in and not standing_in:   # another class's site that did not get as far as the model
                raise NotThisModel(said) from exc
            unbound = next((s for s in site.path if _UNBOUND in _bound_names(s)), None)
            if isinstance(exc, NameError) and unbound is not None:
                raise SiteFailed(f"it is built inside {unbound.value.value} no call of the repository gives "  # type: ignore[attr-defined]
                                 f"({said})") from exc
            if failures:   # the statement that failed first is the cause; the call's error its consequence
                raise SiteFailed(f"{failures[0].text} (then the call raised {said})", failures[0].download) from exc
            raise SiteFailed(said, Cause.NETWORK in causes(exc)) from exc
    if not target.is_it(callee):   # a builder of the repository: the model is among what it returns
        built = next((b for b in built if target.accepts(b)), built) if isinstance(built, (tuple, list)) else built
    built = the_model_among(built) if not isinstance(target.obj, type) else built
    if not target.accepts(built):
        raise NotThisModel(f"the call there builds a {type(built).__name__}, not this model")
    return built, _named(callee, args, kwargs), run


def _accepted(callee: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        parameters = inspect.signature(callee).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in parameters}


def the_model_among(built: Any) -> Any:
    """What a factory returns with other things (`model, diffusion = create_model_and_diffusion(...)`): its one
    nn.Module, or its one module with weights (beside a loss module); anything else as it is."""
    if isinstance(built, (tuple, list)):
        modules = [value for value in built if isinstance(value, torch.nn.Module)]
        weighted = [m for m in modules if next(m.parameters(), None) is not None]   # a loss module has no weights
        for found in (modules, weighted):
            if len(found) == 1:
                return found[0]
    return built


def _shortened(code: str, most: int = 100) -> str:
    code = " ".join(code.split())
    return code if len(code) <= most else code[:most - 3] + "..."


def _inner_arguments(site: Site, arguments: dict[str, Any], namespace: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """For each argument that is a model the slice built (`net = Unet(dim=64, image_size=128)`, then
    `Diffusion(net)`), the keyword arguments of the call that built it, evaluated again (they are values)."""
    built_by = {}
    for statement in site.path:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, ast.Call):
            built_by[statement.targets[0].id] = statement.value
    inner = {}
    for parameter, value in arguments.items():
        if not isinstance(value, torch.nn.Module):
            continue
        name = next((n for n, v in namespace.items() if v is value and n in built_by), None)
        if name is None:
            continue
        try:
            inner[parameter] = {k.arg: _evaluate(k.value, namespace, site.document)
                                for k in built_by[name].keywords if k.arg}
        except Exception:
            continue
    return inner


def _named(callee: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(inspect.signature(callee).bind_partial(*args, **kwargs).arguments)
    except (TypeError, ValueError):
        return dict(kwargs)


def site_factory(site: Site, target: SiteTarget) -> Callable[[], Any]:
    """A factory that builds the model at the site each time it is called (the device logic may call it twice);
    what the last call built, and where, is kept on the factory's `result`."""
    variants = _argv_variants(site, target)

    def build() -> Any:
        last: SiteFailed | None = None
        for argv in variants:
            try:
                built, arguments, run = _build_once(site, target, argv)
            except SiteFailed as exc:
                last = exc if last is None or isinstance(last, NotThisModel) else last
                continue
            inputs, inputs_where = _fed_inputs(site, built, run.namespace)
            where = _where(site, _site_statements(site)) + (f" (with `{' '.join(argv)}`)" if argv else "")
            where += f": {_shortened(ast.unparse(site.call))}"
            if site.stand_in:
                where += f", with {target.obj.__name__} in its place (a constructor that requires the same)"
            if run.without_weights:
                where += f" (with {', '.join(sorted(run.without_weights))}: the architecture, no downloaded weights)"
            if run.placeholders:
                where += f" (the script's command line completed: {', '.join(dict.fromkeys(run.placeholders))})"
            build.result = BuiltAtSite(built, where, arguments, inputs, inputs_where,  # type: ignore[attr-defined]
                                       _inner_arguments(site, arguments, run.namespace))
            return built
        said = str(last)
        if not re.match(r"\S+:\d+", said):   # a cause already placed (`train.py:13: ...`) keeps its own place
            said = f"{_position(site.document, site.line)}: {said}"
        raise type(last or SiteFailed())(said, bool(last and last.download))

    build.result = None  # type: ignore[attr-defined]
    return build


# -- what the site feeds the model ----------------------------------------------------------------------------------

def _fed_inputs(site: Site, model: Any, namespace: dict[str, Any]) -> tuple[tuple[Any, ...] | None, str | None]:
    """The tensors the code after the site passes to the model it built (`out = model(x)`), when they can be made
    without touching the model; else None."""
    statement = site.statement
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name) and statement.value is site.call):
        return None, None
    name = statement.targets[0].id
    later = _later_statements(site.tree, statement) if site.tree is not None else []
    for index, candidate in enumerate(later):
        call = next((c for c in _calls_in(candidate) if isinstance(c.func, ast.Name) and c.func.id == name
                     and not any(isinstance(a, ast.Starred) for a in c.args)), None)
        if call is None:
            continue
        # what the site's own slice did not run yet (`import torch` above it), and what comes between: never a
        # statement that touches the model (`net.cuda()`, an optimiser of its parameters)
        before = [s for s in [*site.path, *later[:index]] if name not in _read_names(s) | _bound_names(s)]
        ran = {id(s) for s in _site_statements(site)}
        statements = [s for s in _slice(before, _read_names(call) - {name}) if id(s) not in ran]
        scope = {**namespace, name: None}
        try:
            with user_stdout(), guarded(), torch.no_grad(), cpu_budget(SLICE_CPU_SECONDS):
                if _execute(statements, scope, site.document):
                    return None, None
        except OverBudget:
            return None, None
        with user_stdout(), guarded(), torch.no_grad():
            try:
                values = _required_given(model, *forward_inputs(
                    model, tuple(_evaluate(a, scope, site.document) for a in call.args),
                    {k.arg: _evaluate(k.value, scope, site.document) for k in call.keywords if k.arg},
                    skip_with_none=True)[:1])
            except Exception:
                return None, None
        if values and isinstance(values[0], torch.Tensor) and all(isinstance(v, torch.Tensor) or v is None
                                                                   for v in values):
            return values, _position(site.document, call.lineno)
        return None, None
    return None, None


def _required_given(model: Any, values: tuple[Any, ...]) -> tuple[Any, ...]:
    """`values` when they give every required parameter of forward (later optional keywords stay out)."""
    required = [p for p in inspect.signature(model.forward).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    if len(values) < len(required):
        raise TypeError("the call does not give every required argument of forward")
    return values


def _later_statements(tree: ast.Module, statement: ast.stmt) -> list[ast.stmt]:
    """The statements after `statement` in its own block."""
    for node in ast.walk(tree):
        for field_name in ("body", "orelse", "finalbody"):
            block = getattr(node, field_name, None)
            if isinstance(block, list) and any(s is statement for s in block):
                index = next(i for i, s in enumerate(block) if s is statement)
                return block[index + 1:]
    return []


def sites_scope(site: Site, target: SiteTarget) -> contextlib.AbstractContextManager[None]:
    """The site's folder (or the folder its package is in), the model's folder and the repository's root on
    sys.path while a site runs (scripts import the package from where they are run)."""
    folder = site.document.path.parent
    while (folder / "__init__.py").is_file():
        folder = folder.parent
    folders = dict.fromkeys([str(site.document.path.parent), str(folder), str(target.file.parent),
                             str(repository_root(target.file))])
    return user_code_scope(list(folders))


__all__ = ["BuiltAtSite", "NotThisModel", "Site", "SiteFailed", "SiteTarget", "command_lines", "find_sites", "site_factory",
           "sites_scope"]

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

import ast
import builtins
import contextlib
import copy
import functools
import inspect
import itertools
import os
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator, Sequence

import torch

from archlint.load.callers import (
    UNBOUND,
    CallerFrame,
    Scope,
    called_through_aliases,
    bound_values,
    frame_of,
    is_instance_marker,
    reads_instance_of,
    scope_of,
    ways_through_instance,
    ways_to,
)
from archlint.load.command_line import (
    MOST_COMMAND_LINES,
    Completed,
    command_line,
    command_lines,
    parse_absl_flags,
    reads_absl_flags,
)
from archlint.load.flow import returned_from
from archlint.load.inputs import forward_inputs, infer_inputs
from archlint.mechanics.no_gpu import cuda_stays_on_cpu
from archlint.load.repository import (
    Document,
    documents_mentioning,
    folder_holding,
    repository_root,
    with_commented_constructions,
)
from archlint.load.sandbox import (
    OverBudget,
    Refused,
    cpu_budget,
    guarded,
    kept_stderr,
    module_name_for,
    user_code_scope,
    user_stdout,
)
from archlint.load.weights import hub_weights, is_weight_keyword, no_weights, weights_off
from archlint.load.slicing import (
    COMPOUND_STATEMENTS,
    RETURNED,
    SELF,
    at_module_level,
    bound_names,
    called_name,
    calls_in,
    parameter_defaults,
    paths_to,
    program_slice,
    read_names,
    syntax_tree,
)
from archlint.load.errors import environment_cause
from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.errors import changed_library_text, first_line, missing_relative_path, user_error_text
from archlint.mechanics.source import function_definition, is_main_guard, source_position
from archlint.mechanics.training import trains
from archlint.plugin.results import TargetCause

MOST_SITES = 24         # sites tried per model, nearest first (a failing one costs its slice only)
SLICE_CPU_SECONDS = 60  # the statements before a site's call (the call itself is the model's build)


class SiteFailed(Exception):
    """A site whose code did not build the model; the message says where and why in one line; `download` when
    the cause was a download the sandbox refused."""

    def __init__(self, message: str = "", download: bool = False, missing: str | None = None,
                 in_model: bool = False, environment: TargetCause | None = None):
        super().__init__(message)
        self.download = download
        self.missing = missing     # a relative path the code could not open from here
        self.in_model = in_model   # the model's own code raised: the site got as far as building it
        self.environment = environment   # what failed first was the installed packages, not the code


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


# -- finding sites ---------------------------------------------------------------------------------------------------

def _registry_call(call: ast.Call) -> tuple[ast.expr, ast.expr] | None:
    """(registry, key) of `REGISTRY[key](...)` or `getattr(registry, key)(...)`; not a sequence's item called by its
    position (`self.layers[0](x)`): registries are keyed by names."""
    if isinstance(call.func, ast.Subscript):
        key = call.func.slice
        if isinstance(key, ast.Slice) or isinstance(key, ast.Constant) and isinstance(key.value, int):
            return None
        return call.func.value, key
    if isinstance(call.func, ast.Call) and isinstance(call.func.func, ast.Name) and call.func.func.id == "getattr" \
            and len(call.func.args) >= 2:
        return call.func.args[0], call.func.args[1]
    return None


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
        scope = scope_of(document)
        if scope is None:
            continue
        # in a document, calls of the model's own name before calls of a builder that returns it
        found = sorted(_sites_in(scope, target, builders, document.path == file, words),
                       key=lambda site: called_name(site.call) not in target.names)
        for site in found:
            (sites if site.registry is None else registry_sites).append(site)
        if len(sites) >= MOST_SITES:
            break
    if not sites and not registry_sites:
        registry_sites = list(itertools.islice(_registries_filled_elsewhere(file, words, target), MOST_SITES))
    # a commented-out line is the last word: tried when no code of the repository builds the model
    commented = list(itertools.islice(_commented_out_sites(file, words, target, builders), MOST_SITES))
    if not sites and not commented and isinstance(target.obj, type):
        sites = _stand_in_sites(target, file)
    # calls by name first: a registry site holds the model only sometimes
    return sites[:MOST_SITES] + registry_sites[:MOST_SITES] + commented


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


def _takes_parameters_of(cls: type, namesake: type) -> bool:
    """Whether `cls`'s constructor has every parameter its namesake's requires (or takes any keyword)."""
    try:
        ours = inspect.signature(cls).parameters
        theirs = inspect.signature(namesake).parameters
    except (TypeError, ValueError):
        return True
    if any(p.kind is p.VAR_KEYWORD for p in ours.values()):
        return True
    required = [name for name, p in theirs.items() if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL,
                                                                                              p.VAR_KEYWORD)]
    return all(name in ours for name in required)


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
        tree = syntax_tree(document) if document.kind == "code" else None
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
        scope = scope_of(document) if document.path != file else None
        if scope is None:
            continue
        for site in _sites_in(scope, stand_in, frozenset(siblings), False, frozenset(siblings)):
            if site.registry is None and called_name(site.call) in siblings:
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
            tree = syntax_tree(document) if document.kind == "code" else None
            for function in tree.body if tree is not None else []:
                if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and function.name not in known \
                        and _returns_call_of(function, known) and not trains(function):
                    found.add(function.name)
        if not found:
            break
        known |= found
    return frozenset(known - names)


def _returns_call_of(function: ast.FunctionDef | ast.AsyncFunctionDef, names: set[str]) -> bool:
    """A return value of the function flows from a call named one of `names`."""
    return returned_from(function, lambda call: called_name(call) in names or None) is not None


def _passes_registry(registry: ast.expr, words: frozenset[str]) -> Callable[[list[ast.stmt]], bool]:
    """For a registry that is a parameter of the helper calling it (`def get_instance(module, name, config):
    return getattr(module, config[name]["type"])(...)`): the calls of the helper that pass the model's module, or
    a name of the model, when they say so (`get_instance(models, "arch", config)`, not `get_instance(dataloaders,
    "train_loader", config)`): each call followed is a slice run."""
    root = registry
    while isinstance(root, (ast.Attribute, ast.Subscript)):
        root = root.value
    if not isinstance(root, ast.Name):
        return lambda bound: True

    def passes(bound: list[ast.stmt]) -> bool:
        given = next((s.value for s in bound if isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
                      and s.targets[0].id == root.id), None)
        return given is None or any(part in words for name in read_names(given) for part in name.split("."))
    return passes


def _parameter_default(call: ast.Call, statement: ast.stmt, scope: Scope) -> str | None:
    """The name a call calls when its callee is a parameter of the function it is in, by that parameter's default
    (`def ppo(env_fn, actor_critic=core.MLPActorCritic)`, then `actor_critic(obs_space, act_space)`: the network's
    class is handed in, the repository's own by default). Not in a method: a part a module's constructor builds
    from such a parameter (`norm_layer=LayerNorm`) is built as its holder builds it, and fed as it feeds it."""
    function = scope.enclosing.get(id(statement))
    if function is None or id(function) in scope.owners or not isinstance(call.func, ast.Name):
        return None
    default = next((d.value for d in parameter_defaults(function)
                    if isinstance(d, ast.Assign) and ast.unparse(d.targets[0]) == call.func.id), None)
    return default.id if isinstance(default, ast.Name) else default.attr if isinstance(default, ast.Attribute) \
        else None


def _sites_in(scope: Scope, target: SiteTarget, builders: frozenset[str], in_file: bool,
              words: frozenset[str]) -> Iterator[Site]:
    document, tree = scope.document, scope.tree
    module_level = {id(s) for s in tree.body} if in_file else set()   # already ran when the file was imported
    names = target.names | builders
    mentions_name = any(re.search(rf"\b{re.escape(n)}\b", document.source) for n in names)
    if not in_file and any(isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name in target.names
                           for n in ast.walk(tree)):
        mentions_name = False   # a file with its own class of that name (variants side by side): not this model
    for statement, path in scope.paths:
        if isinstance(statement, COMPOUND_STATEMENTS):
            continue
        for call in calls_in(statement):
            registry = _registry_call(call) if not in_file else None
            if registry is not None and _calls_parts(statement, registry[0], scope):
                registry = None
            called = {called_through_aliases(call, scope), _parameter_default(call, statement, scope)}
            if not (called & names and mentions_name) and registry is None \
                    and ast.unparse(call.func) not in target.alternative_constructors:
                continue
            # built from an instance's state: through an instance of its class, the attributes its __init__ sets
            reads_instance = reads_instance_of(call, statement, path, scope)
            ways = ways_through_instance(statement, path, scope) if reads_instance else \
                ways_to(statement, path, scope, binds=_passes_registry(registry[0], words) if registry else
                        lambda bound: True)
            for way in ways:
                yield Site(document, call, [s for s in way if id(s) not in module_level], statement,
                           registry[0] if registry else None, registry[1] if registry else None, in_file, tree)


def _commented_out_sites(file: Path, words: frozenset[str], target: SiteTarget,
                         builders: frozenset[str]) -> Iterator[Site]:
    """Sites in commented-out lines, when no code builds the model: the alternatives a training script keeps as
    comments beside the model it builds, the smoke test left commented at the bottom of a model file."""
    for document in documents_mentioning(file, words):
        commented = with_commented_constructions(document, target.names | builders)
        scope = scope_of(commented) if commented is not None else None
        if scope is None:
            continue
        for site in _sites_in(scope, target, builders, document.path == file, words):
            if site.statement.lineno in scope.document.uncommented:
                yield site


def _registries_filled_elsewhere(file: Path, words: frozenset[str], target: SiteTarget) -> Iterator[Site]:
    """Registry sites of documents that name none of the model's words but import one that does: a registry its
    base class fills (`self.model_dict = LazyModelDict(scan("models"))` in exp_basic.py, looked up as
    `self.model_dict[self.args.model](self.args)` in a subclass's file)."""
    mentioning = {d.path for d in documents_mentioning(file, words)}
    for document in documents_mentioning(file, frozenset()):
        scope = scope_of(document) if document.path not in mentioning and document.kind == "code" else None
        if scope is None or not any(o.file in mentioning for origins in scope.imported.values() for o in origins):
            continue
        for site in _sites_in(scope, target, frozenset(), False, words):
            if site.registry is not None:
                yield site


def _calls_parts(statement: ast.stmt, registry: ast.expr, scope: Scope) -> bool:
    """A lookup that runs a model's parts, not a registry that builds one: in a forward, or in a method of a class
    with a forward on the instance's own containers (`self.heads[name](x)`, `self.blocks[i](x)` in a helper)."""
    function = scope.enclosing.get(id(statement))
    if function is None:
        return False
    owner = scope.owners.get(id(function))
    has_forward = owner is not None and any(isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name == "forward"
                                            for f in owner.body)
    root = registry
    while isinstance(root, (ast.Attribute, ast.Subscript)):
        root = root.value
    on_instance = isinstance(root, ast.Name) and root.id == "self"
    return function.name == "forward" or (has_forward and on_instance and function.name != "__init__")


# -- building at a site ---------------------------------------------------------------------------------------------

@dataclass
class _Run:
    namespace: dict[str, Any]
    failures: list[Failure]
    without_weights: set[str] = field(default_factory=set)   # weight keywords set to none (`pretrained=False`)
    completed: Completed = field(default_factory=Completed)   # what the script's command line was given besides
    kept_on_cpu: list[str] = field(default_factory=list)     # where the code moved the model to CUDA (no GPU here)
    stand_ins: list[tuple[str, Failure]] = field(default_factory=list)   # (`len(vocab)` = 100, why): _stood_in


class _Returned(Exception):
    """Raised where a slice reaches a `return` of the function the site is in (slicing.at_module_level)."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


@dataclass(frozen=True)
class Failure:
    """A statement of a slice that failed: where and why, in one line; whether it was a refused download."""

    text: str
    download: bool = False
    missing: str | None = None   # a relative path the statement could not open from the working directory
    environment: TargetCause | None = None   # a package missing, or failing with what is installed beside it
    returned: bool = False   # the site's function returns before the site (`except ImportError: return`)


def _execute(statements: list[ast.stmt], namespace: dict[str, Any], document: Document,
             before_each: Callable[[], None] = lambda: None, unweighted: set[str] | None = None,
             stand_ins: list[tuple[str, Failure]] | None = None) -> list[Failure]:
    """Run statements one at a time; a failing one is skipped and said (`train.py:12: FileNotFoundError: ...`). A
    caller frame's marker runs the frame (its document's slice, then its call's binding of the parameters)."""
    failures = []
    for statement in statements:
        frame = frame_of(statement)
        if frame is not None:
            failures += _run_frame(frame, namespace, before_each, unweighted, stand_ins)
            continue
        if is_instance_marker(statement):
            try:
                namespace[SELF] = _bare_instance(_evaluate(statement.value, namespace, document))  # type: ignore[attr-defined]
            except Exception as exc:
                failures.append(Failure(f"{_position(document, statement.lineno)}: {user_error_text(exc)}"))
            continue
        before_each()
        code = compile(ast.Module([at_module_level(statement)], type_ignores=[]), str(document.path), "exec")
        namespace[RETURNED] = _Returned
        try:
            with kept_stderr() as stderr:
                exec(code, namespace)
        except KeyboardInterrupt:
            raise
        except _Returned as returned:
            failures.append(Failure(f"{_position(document, returned.line)}: the function returns there, before "
                                    "it reaches the construction", returned=True))
        except SystemExit as exc:
            said = [line.split(": error: ", 1)[1] for line in stderr.getvalue().splitlines() if ": error: " in line]
            failures.append(Failure(f"{_position(document, statement.lineno)}: the script's command line: "
                                    f"{said[-1] if said else f'sys.exit({exc.code!r})'}"))
        except Exception as exc:
            failure = _failure(document, statement.lineno, exc)
            # a size counted from what failed (`opt.vocab_size = len(vocab)`): stood in, said with its cause
            stood_in = _ran_with_stand_ins(statement, namespace, document) if stand_ins is not None else []
            if stood_in and stand_ins is not None:
                stand_ins.extend((said, failures[0] if failures else failure) for said in stood_in)
                continue
            failures.append(failure)
    return failures


def _ran_with_stand_ins(statement: ast.stmt, namespace: dict[str, Any], document: Document) -> list[str]:
    """An assignment whose value counts what could not be computed, executed with those counts stood in; the
    counts said (`len(vocab)` = 100), or [] when it has none or still fails."""
    if not isinstance(statement, (ast.Assign, ast.AnnAssign)) or statement.value is None:
        return []
    value, said = _stood_in(statement.value, namespace, document)
    if not said:
        return []
    replaced = copy.copy(statement)
    replaced.value = value
    try:
        exec(compile(ast.fix_missing_locations(ast.Module([replaced], type_ignores=[])), str(document.path), "exec"),
             namespace)
    except Exception:
        return []
    return [f"{s} = {STAND_IN_COUNT}" for s in said]


def _failure(document: Document, line: int, exc: Exception) -> Failure:
    said = first_line(exc) if isinstance(exc, Refused) else f"{type(exc).__name__}: {first_line(exc)}"
    changed = changed_library_text(exc)
    said += f": {changed}" if changed else ""
    # the environment's cause: an import the slice ran (`from data import *` loading torchtext), a library call the
    # installed version refuses, a data file, an unbuilt extension
    return Failure(f"{_position(document, line)}: {said}", Cause.NETWORK in causes(exc), missing_relative_path(exc),
                   environment_cause(exc))


def _run_frame(frame: CallerFrame, namespace: dict[str, Any], before_each: Callable[[], None],
               unweighted: set[str] | None, stand_ins: list[tuple[str, Failure]] | None) -> list[Failure]:
    """Run a caller's slice in its own document's namespace, then bind the called function's parameters in
    `namespace` from the caller's call (weight keywords of the caller's code set to no weights too)."""
    (*statements, call), changed = _without_weights([*frame.statements, frame.call])
    if unweighted is not None:
        unweighted |= changed
    caller_namespace = _document_namespace(frame.document)
    failures = _execute(statements, caller_namespace, frame.document, before_each, unweighted, stand_ins)
    try:
        args, kwargs = _arguments(call, caller_namespace, frame.document, failures, stand_ins, unavailable=True)
        namespace.update(bound_values(frame, args, kwargs, namespace))
    except Exception as exc:
        failures.append(_failure(frame.document, call.lineno, exc))
    return failures


class _Unavailable:
    """An argument of a caller's call that its code could not compute (`Solver(loader, config)` when the data
    folder that `loader` reads is not there): bound all the same, since the build may not need it (the solver's
    networks take their sizes from `config`); using it raises, saying why it is missing."""

    def __init__(self, expression: str, failure: Failure) -> None:
        self._said = f"`{expression}` could not be computed ({failure.text})"

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(self._said)

    def __iter__(self) -> Any:
        raise RuntimeError(self._said)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(self._said)

    def __bool__(self) -> bool:
        raise RuntimeError(self._said)

    def _refuse(self, *args: Any) -> Any:
        raise RuntimeError(self._said)

    # indexed, measured or computed with (`frames[0]`, `len(actions)`, `width // 2`): the same sentence, not
    # Python's "'_Unavailable' object is not subscriptable"
    __getitem__ = __len__ = __index__ = __int__ = __float__ = __neg__ = _refuse
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse
    __truediv__ = __rtruediv__ = __floordiv__ = __rfloordiv__ = __mod__ = __pow__ = _refuse
    __lt__ = __le__ = __gt__ = __ge__ = _refuse


def _position(document: Document, line: int) -> str:
    """`README.md:31`, `../../train.py:80`, `demo.ipynb:cell 4:line 2`: relative to where archlint runs, however
    far up the repository the document is (it is always in the model's own repository)."""
    shown = os.path.relpath(document.path)
    if document.kind == "text":
        return f"{shown}:{line}"
    return source_position(shown, line)


def _namespace(site: Site, target: SiteTarget) -> dict[str, Any]:
    """The globals a site's statements run in: the model's module for a site in its own file; else the document's
    own (`_document_namespace`)."""
    return dict(vars(target.module)) if site.in_target_file else _document_namespace(site.document)


def _share_main_guard_globals(namespace: dict[str, Any], module: ModuleType, tree: ast.Module) -> None:
    """The globals only the main guard binds (`args = parser.parse_args()`), as the site's slice bound them, set in
    the model's module: its functions and methods read them there (`self.fc = nn.Linear(dims[0], args.hidden)`),
    not in the copy the slice ran in. No other name of the module is touched."""
    for name in _main_guard_globals(tree) & namespace.keys():
        setattr(module, name, namespace[name])


def _document_namespace(document: Document) -> dict[str, Any]:
    """A fresh module named as the document's module is (`segment.build`; `models.modeling` for a folder without
    __init__.py whose files import each other relatively), so that its relative imports work."""
    name, _, in_package = module_name_for(document.path) if document.path.suffix == ".py" else ("", "", False)
    package = name.rpartition(".")[0] or None if in_package else None
    tree = syntax_tree(document) if document.kind == "code" else None
    module = ModuleType(name if package else _SITE_MODULE)
    module.__dict__.update({"__package__": package, "__file__": str(document.path), "__builtins__": __builtins__,
                            "__doc__": ast.get_docstring(tree, clean=False) if tree is not None else None})
    if module.__name__ == _SITE_MODULE:   # a dataclass the slice defines looks its module up while it is made
        sys.modules[_SITE_MODULE] = module
    return module.__dict__


_SITE_MODULE = "__archlint_site__"


def _site_statements(site: Site) -> list[ast.stmt]:
    """The slice of a site: the statements its call depends on (with, for a site in the model's own file, the
    globals its definitions read that only its main guard binds), then the bindings of the comprehensions around
    it."""
    needed = read_names(site.call) | _read_names_of_comprehensions(site)
    path = site.path
    if site.in_target_file and site.tree is not None and _main_guard_globals(site.tree):
        # the main guard binds them before it calls anything (`args = parser.parse_args()`, then `main()`)
        on_path = {id(s) for s in path}
        guard = [s for g in site.tree.body if is_main_guard(g) for s in _before_site(g.body, site.statement)
                 if id(s) not in on_path]
        needed |= _main_guard_globals(site.tree)
        path = [*guard, *path]
    return [*program_slice(path, needed), *_comprehension_bindings(site)]


def _before_site(block: list[ast.stmt], statement: ast.stmt) -> list[ast.stmt]:
    """The block's statements that run before `statement` when it is inside the block (the site in the main guard
    itself: what comes after it, a training loop, never runs first); else the whole block."""
    inside = next((i for i, s in enumerate(block) if any(node is statement for node in ast.walk(s))), None)
    return block if inside is None else block[:inside]


@functools.lru_cache(maxsize=64)
def _main_guard_globals(tree: ast.Module) -> frozenset[str]:
    """Names the module's functions and classes read that no module-level statement outside its main guard binds:
    a script's `args`, parsed in `if __name__ == "__main__":` and read by its layers' `__init__` as a global."""
    free: set[str] = set()
    for definition in tree.body:
        if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for function in ast.walk(definition):   # each function's names that are not its own
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                own = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
                own |= {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
                free |= {n for n in read_names(function) - own if "." not in n}
    bound = set().union(*(bound_names(s) for s in tree.body if not is_main_guard(s)))
    return frozenset(free - bound - set(dir(builtins)))


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
    return set().union(*(read_names(clause.iter) for clause in _enclosing_comprehensions(site)))


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


def _arguments(call: ast.Call, namespace: dict[str, Any], document: Document, failures: Sequence[Failure] = (),
               stand_ins: list[tuple[str, Failure]] | None = None,
               unavailable: bool = False) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The call's arguments evaluated. With the `failures` of the statements before it: a size counted from what
    they could not compute is stood in (see `_stood_in`, said in `stand_ins`); with `unavailable`, an argument
    that is a name they did not bind, or that fails to compute, is unavailable (see `_Unavailable`) instead of
    failing the call."""
    def value_of(node: ast.expr) -> Any:
        if unavailable and failures and isinstance(node, ast.Name) and node.id not in namespace and \
                not hasattr(builtins, node.id):
            return _Unavailable(node.id, failures[0])
        try:
            return _evaluate(node, namespace, document)
        except Exception as exc:
            stood_in, said = _stood_in(node, namespace, document) if failures and stand_ins is not None else (node, [])
            if said and stand_ins is not None:
                value = _evaluate(stood_in, namespace, document)
                stand_ins.extend((f"{s} = {STAND_IN_COUNT}", failures[0]) for s in said)
                return value
            if unavailable:   # `Trainer(loader.loader(), config)` with no data here: the trainer may only keep it
                return _Unavailable(ast.unparse(node), _failure(document, node.lineno, exc))
            raise

    args: list[Any] = []
    for argument in call.args:
        if isinstance(argument, ast.Starred):
            args.extend(_evaluate(argument.value, namespace, document))
        else:
            args.append(value_of(argument))
    kwargs: dict[str, Any] = {}
    for keyword in call.keywords:
        value = _evaluate(keyword.value, namespace, document) if keyword.arg is None else value_of(keyword.value)
        if keyword.arg is None:
            kwargs.update(value)
        else:
            kwargs[keyword.arg] = value
    return tuple(args), kwargs


# A size the repository counts from its data (`len(vocab)`, `features.shape[1]`, `labels.max().item() + 1`) when
# the data is not here: the architecture does not depend on its value, so it is built with this one, and said.
STAND_IN_COUNT = 100


def _stand_ins_said(stand_ins: list[tuple[str, Failure]]) -> str:
    """`len(vocab)` = 100, `x.shape[1]` = 100 (train.py:20: FileNotFoundError: ...): grouped by their cause."""
    by_cause: dict[str, list[str]] = {}
    for said, cause in stand_ins:
        if said not in by_cause.setdefault(cause.text, []):
            by_cause[cause.text].append(said)
    return "; ".join(f"{', '.join(said)} ({cause})" for cause, said in by_cause.items())


# attributes named as counts are (`dataset.num_classes`, `loader.n_tokens`, `vocab.vocab_size`, a discrete action
# space's `n`): Python's naming
# habit for a number of things
_COUNT_NAME = re.compile(r"^n$|^(num|n)_[a-z_]+$|^num[a-z]+s$|^n(classes|tokens|words|labels|feats|features|vocab)$|"
                         r"_(size|count)$")


def _counts(node: ast.expr) -> bool:
    """Whether the expression is an integer count whatever the data: `len(x)`, `int(x)`, `x.shape[i]`,
    `x.size(i)`, `x.size()[i]`, `x.item()` (the Python number of a one-element tensor), an attribute or a method
    named as a count (`dataset.num_classes`, `dataset.num_classes()`)."""
    if isinstance(node, ast.Attribute):
        return bool(_COUNT_NAME.search(node.attr))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return node.func.id in ("len", "int") and len(node.args) == 1 and not node.keywords
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr == "size" and len(node.args) == 1 or node.func.attr == "item" and not node.args or \
            not node.args and not node.keywords and bool(_COUNT_NAME.search(node.func.attr))   # `.num_classes()`
    if isinstance(node, ast.Subscript):
        value = node.value
        return isinstance(value, ast.Attribute) and value.attr == "shape" or \
            isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "size" \
            and not value.args
    return False


def _stood_in(node: ast.expr, namespace: dict[str, Any], document: Document) -> tuple[ast.expr, list[str]]:
    """The expression with each count in it that cannot be computed replaced by STAND_IN_COUNT, and those counts'
    source (`len(vocab)`)."""
    said: list[str] = []

    class StandIn(ast.NodeTransformer):
        def visit(self, child: ast.AST) -> ast.AST:
            if isinstance(child, ast.expr) and _counts(child):
                try:
                    _evaluate(child, namespace, document)
                    return child
                except Exception:
                    said.append(f"`{ast.unparse(child)}`")
                    return ast.copy_location(ast.Constant(STAND_IN_COUNT), child)
            return self.generic_visit(child)

    return StandIn().visit(copy.deepcopy(node)), said


def _registry_entry(registry: Any, target: SiteTarget) -> Any:
    entries = vars(registry) if isinstance(registry, ModuleType) else registry
    if isinstance(entries, dict):
        held = next((v for v in list(entries.values()) if target.is_it(v)), None)
        return held if held is not None or entries is not registry else _looked_up(registry, target)
    if isinstance(entries, (list, tuple)):
        return next((v for v in entries if target.is_it(v)), None)
    return next((getattr(registry, n) for n in dir(registry) if target.is_it(getattr(registry, n, None))), None)


def _looked_up(registry: dict[Any, Any], target: SiteTarget) -> Any:
    """The entry a mapping gives for the model's names when it loads its entries as they are asked for (a dict of
    the models folder's module names that imports `models.<name>` on lookup): the module's stem, then the class's
    name."""
    for key in dict.fromkeys((target.file.stem, getattr(target.obj, "__name__", ""))):
        try:
            value = registry[key]
        except Exception:   # the mapping's own refusal: not this key
            continue
        if target.is_it(value):
            return value
    return None


def _where(site: Site, statements: list[ast.stmt]) -> str:
    """`README.md:31-37`: from the slice's first statement that is not an import or a definition, to the call."""
    work = [s for s in statements if not isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef,
                                                        ast.AsyncFunctionDef)) and s.lineno <= site.line]
    first = min((s.lineno for s in work), default=site.line)
    last = getattr(site.statement, "end_lineno", site.line) or site.line
    start, end = _position(site.document, first), _position(site.document, last)
    if site.document.kind == "notebook":   # `demo.ipynb:cell 4:line 2` to `cell 5:line 3`
        shown = f"{start} to {end.split(':', 1)[1]}"
    else:
        shown = start if last == first else f"{start}-{last}"
    callers = _callers_said(statements)
    return f"{shown}, called from {', then '.join(callers)}" if callers else shown


def _callers_said(statements: list[ast.stmt]) -> list[str]:
    """Where the callers in other documents bound the parameters, nearest first (`models/__init__.py:12`)."""
    frame = next((f for f in map(frame_of, statements) if f is not None), None)
    if frame is None:
        return []
    return [_position(frame.document, frame.call.lineno), *_callers_said(frame.statements)]


def _script_of(site: Site) -> Document:
    """The document whose command line the site's code sees: its own, or its outermost caller's in another
    document (`main.py`, whose main guard parses the arguments `models/detr.py`'s `build(args)` reads)."""
    document, statements = site.document, site.path
    while (frame := next((f for f in map(frame_of, statements) if f is not None), None)) is not None:
        document, statements = frame.document, frame.statements
    return document


def _argv_variants(site: Site, target: SiteTarget) -> list[list[str]]:
    """The script's own defaults first, then the command lines its READMEs and scripts run it with; for a registry
    site, the command lines that name the model come first (they select its entry)."""
    script = _script_of(site)
    if script.kind != "code" or site.in_target_file and script is site.document:
        return [[]]
    every = command_lines(script.path)
    if site.registry is None:
        return [[], *every[:MOST_COMMAND_LINES]]
    # a registry site: the command lines that name the model select its entry, so they come first, from all of
    # them (a script per model, deep in scripts/, may be the one that names it); a registry of modules is keyed
    # by the module's name (`model_dict["DLinear"]`)
    words = {w.lower() for w in target.names} | {target.obj.__name__.lower(), target.file.stem.lower()}
    naming = [a for a in every if any(token.lower().strip("'\"") in words for token in a)]
    lines = [*naming, *[a for a in every if a not in naming]][:MOST_COMMAND_LINES]
    return [*lines[:len(naming)], [], *lines[len(naming):]]


# Keywords that ask for downloaded weights (`models.resnet50(pretrained=True)` around which a README builds its
# wrapper): archlint lints the architecture, which is the same without them, and never downloads.
class _WithoutWeights(ast.NodeTransformer):
    """A copy of the code with every weight keyword set to no weights; `changed` says which were."""

    def __init__(self) -> None:
        self.changed: set[str] = set()

    def visit_keyword(self, node: ast.keyword) -> ast.keyword:
        if is_weight_keyword(node.arg) and not (isinstance(node.value, ast.Constant) and not node.value.value):
            self.changed.add(f"{node.arg}={no_weights(node.arg)}")
            return ast.copy_location(ast.keyword(node.arg, ast.copy_location(
                ast.Constant(no_weights(node.arg)), node.value)), node)
        return node


def _without_weights(nodes: list[Any]) -> tuple[list[Any], set[str]]:
    rewrite = _WithoutWeights()
    return [rewrite.visit(copy.deepcopy(node)) for node in nodes], rewrite.changed


def _build_once(site: Site, target: SiteTarget, argv: list[str]) -> tuple[Any, dict[str, Any], _Run]:
    (*statements, call), unweighted = _without_weights([*_site_statements(site), site.call])
    namespace = _namespace(site, target)
    with command_line(argv, _script_of(site)) as completed, user_stdout(), guarded(), \
            cuda_stays_on_cpu() as on_cpu:
        try:
            with cpu_budget(SLICE_CPU_SECONDS):
                stand_ins: list[tuple[str, Failure]] = []
                failures = _execute(statements, namespace, site.document, parse_absl_flags, unweighted, stand_ins)
        except OverBudget as exc:
            raise SiteFailed(f"the code before the call: {exc}") from None
        if site.in_target_file and site.tree is not None:
            _share_main_guard_globals(namespace, target.module, site.tree)
        parse_absl_flags()
        if reads_absl_flags(namespace):
            completed.settings.append("absl flags at their defaults")
        run = _Run(namespace, failures, unweighted, completed, on_cpu, stand_ins)
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
                    # a variant beside its namesake takes the arguments the repository gives it, when they are
                    # the variant's arguments too (another class of the same name is another model)
                    if not _takes_parameters_of(target.obj, callee):
                        raise NotThisModel(f"the call there builds another {callee.__name__}, whose arguments "
                                           f"this model does not take")
                    callee, standing_in = target.obj, True
                elif _builds_another_class(callee, target):
                    raise NotThisModel(f"the call there builds a {callee.__self__.__name__}, not this model")
            else:
                callee = _registry_entry(_evaluate(site.registry, namespace, site.document), target)
                if callee is None:
                    raise NotThisModel("the registry there does not hold this model")
            args, kwargs = _arguments(call, namespace, site.document, failures, stand_ins)
            # a registry's call gives the arguments of the entry its key names (the config's `arch.args`), and
            # another entry's stand-in is this model: the keywords it does not know stay out
            if standing_in or site.registry is not None:
                kwargs = _accepted(callee, kwargs)
            defaults_off = weights_off(callee, args, kwargs)   # `pretrained=True` by default: no weights here
            kwargs = {**kwargs, **defaults_off}
            unweighted |= {f"{k}={v}" for k, v in defaults_off.items()}
            built = callee(*args, **kwargs)
        except SiteFailed:
            raise
        except SystemExit as exc:   # a builder that ends the program (`sys.exit("needs a GPU")`), or a launcher
            raise SiteFailed(f"the code there ended the program (sys.exit({exc.code!r}))") from None
        except Exception as exc:
            said = user_error_text(exc)
            if site.stand_in and not standing_in:   # another class's site that did not get as far as the model
                raise NotThisModel(said) from exc
            unbound = next((s for s in site.path if UNBOUND in bound_names(s)), None)
            # a name left unbound because the function returned first is not a parameter's
            if isinstance(exc, NameError) and unbound is not None and not (failures and failures[0].returned):
                raise SiteFailed(f"it is built inside {unbound.value.value} no call of the repository gives "  # type: ignore[attr-defined]
                                 f"({said})") from exc
            in_model = _raised_in(exc, target.file)
            if failures:   # the statement that failed first is the cause; the call's error its consequence
                raise SiteFailed(f"{failures[0].text} (then the call raised {said})", failures[0].download,
                                 failures[0].missing, in_model, failures[0].environment) from exc
            raise SiteFailed(said, Cause.NETWORK in causes(exc), missing_relative_path(exc), in_model,
                             environment_cause(exc)) from exc
    if not target.is_it(callee):   # a builder of the repository: the model is among what it returns
        built = next((b for b in built if target.accepts(b)), built) if isinstance(built, (tuple, list)) else built
    built = the_model_among(built) if not isinstance(target.obj, type) else built
    if not target.accepts(built):
        raise NotThisModel(f"the call there builds a {type(built).__name__}, not this model")
    return built, _named(callee, args, kwargs), run


def _builds_another_class(callee: Any, target: SiteTarget) -> bool:
    """A model class's classmethod that returns `cls(...)` (`LLaMA.from_name`) builds exactly the class it is called
    on: when that is not the target (a base class's namesake in another file), nothing is built to find that out
    (a 7B model). A classmethod that returns something else (a registry's subclass) is built and looked at."""
    owner = getattr(callee, "__self__", None)
    if not (inspect.ismethod(callee) and isinstance(owner, type) and issubclass(owner, torch.nn.Module)
            and isinstance(target.obj, type) and not target.is_it(owner)):
        return False
    definition = function_definition(callee.__func__)
    return definition is not None and bool(definition.args.args) \
        and _returns_call_of(definition, {definition.args.args[0].arg})


def _raised_in(exc: BaseException, file: Path) -> bool:
    """The exception was raised in code of `file` called from here (the model's own constructor ran)."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]   # the first is this module's call
    resolved = str(file.resolve())
    return any(os.path.realpath(frame.filename) == resolved for frame in frames)


def _bare_instance(cls: type) -> Any:
    """An instance of the class whose `__init__` has not run (the slice sets the attributes a site reads); a
    module's own `nn.Module.__init__` runs, so that assigning a submodule to it works."""
    instance = cls.__new__(cls)
    if isinstance(instance, torch.nn.Module):
        torch.nn.Module.__init__(instance)
    return instance


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
        built, arguments, run, ran_from, argv = _preferred_build(site, target, variants)
        inputs, inputs_where = _fed_inputs(site, built, run.namespace)
        if inputs is None:
            inputs, inputs_where = _inputs_from_holder(site, built, run.namespace, arguments)
        where = _where(site, _site_statements(site)) + (f" (with `{' '.join(argv)}`)" if argv else "")
        if site.statement.lineno in site.document.uncommented:
            where += " (commented out there)"
        where += f": {_shortened(ast.unparse(site.call))}"
        if site.stand_in:
            where += f", with {target.obj.__name__} in its place (a constructor that requires the same)"
        if run.without_weights:
            where += f" (with {', '.join(sorted(run.without_weights))}: the architecture, no downloaded weights)"
        if run.completed.said():
            where += f" (the script's command line completed: {', '.join(run.completed.said())})"
        if run.kept_on_cpu:
            where += f" (moved to CUDA at {', '.join(run.kept_on_cpu)}: kept on the CPU, no GPU here)"
        if ran_from is not None:
            where += f" (run from {_position_of_folder(ran_from[0])}, where the `{ran_from[1]}` it reads is)"
        if run.stand_ins:
            where += f" (sizes counted from what the code could not read stood in: {_stand_ins_said(run.stand_ins)})"
        build.result = BuiltAtSite(built, where, arguments, inputs, inputs_where,  # type: ignore[attr-defined]
                                   _inner_arguments(site, arguments, run.namespace))
        return built

    build.result = None  # type: ignore[attr-defined]
    return build


# command lines tried after a build with stand-ins or placeholders: one may give what was stood in or required
MOST_TRIES_AFTER_STAND_INS = 2


def _preferred_build(site: Site, target: SiteTarget, variants: list[list[str]]
                     ) -> tuple[Any, dict[str, Any], _Run, tuple[Path, str] | None, list[str]]:
    """The first command line's build that needed no stand-ins and no placeholders for arguments the script
    requires, else the first one built with them; a SiteFailed saying the most telling failure when none builds."""
    last: SiteFailed | None = None
    with_stand_ins: tuple[Any, dict[str, Any], _Run, tuple[Path, str] | None, list[str]] | None = None
    tries_after = 0
    for argv in variants:
        if with_stand_ins is not None:
            if tries_after == MOST_TRIES_AFTER_STAND_INS:
                break
            tries_after += 1
        try:
            built, arguments, run, ran_from = _built_where_it_reads(site, target, argv)
        except SiteFailed as exc:
            last = exc if last is None or _more_telling(exc, last) else last
            continue
        if not run.stand_ins and not run.completed.placeholders:
            return built, arguments, run, ran_from, argv
        with_stand_ins = with_stand_ins or (built, arguments, run, ran_from, argv)
    if with_stand_ins is not None:
        return with_stand_ins
    said = str(last)
    if not re.match(r"\S+:\d+", said):   # a cause already placed (`train.py:13: ...`) keeps its own place
        said = f"{_position(site.document, site.line)}: {said}"
    raise type(last or SiteFailed())(said, bool(last and last.download), in_model=bool(last and last.in_model),
                                     environment=last.environment if last else None)


def _more_telling(failure: SiteFailed, than: SiteFailed) -> bool:
    """A later command line's failure says more than an earlier one's when that one was not this model's, or when
    it got as far as the model's constructor or to what the machine lacks (the README's config file read, then the
    installed library refused the call) and the earlier did not (the defaults had no config file)."""
    return isinstance(than, NotThisModel) or bool(failure.environment and not than.environment) \
        or failure.in_model and not than.in_model and not than.environment


def _built_where_it_reads(site: Site, target: SiteTarget,
                          argv: list[str]) -> tuple[Any, dict[str, Any], _Run, tuple[Path, str] | None]:
    """Built at the site, from the folder its script is run from (its own: `python run.py` beside it, a notebook's
    kernel in the notebook's folder), where the relative paths it reads or only checks for (`if
    os.path.exists('models')`) are; when its code could not open a relative path that is where the README runs the
    script (the root), built again from there (a build that stood in for what it read, or failed)."""
    built: tuple[Any, dict[str, Any], _Run] | None = None
    with contextlib.chdir(_home_of(site)):
        try:
            built = _build_once(site, target, argv)
            missing = next((f.missing for _, f in built[2].stand_ins if f.missing), None)
        except SiteFailed as exc:
            failed, missing = exc, exc.missing
        ran_from = _folder_holding(missing, site)
    if ran_from is not None:
        try:
            with contextlib.chdir(ran_from[0]):
                return (*_build_once(site, target, argv), ran_from)
        except SiteFailed:
            pass
    if built is None:
        raise failed
    return (*built, None)


def _home_of(site: Site) -> Path:
    """The folder a site's script runs from: a script's or notebook's own; a text document's commands run from
    wherever the user is (the working directory)."""
    script = _script_of(site)
    return script.path.resolve().parent if script.kind in ("code", "notebook") else Path.cwd()


def _folder_holding(missing: str | None, site: Site) -> tuple[Path, str] | None:
    """The folder a script is run from in which the relative path it could not open exists (its own folder, then
    the repository's root), with the path; None when neither has it."""
    script = _script_of(site).path.resolve()
    folder = folder_holding(missing, (script.parent, site.document.path.resolve().parent, repository_root(script)))
    return (folder, missing) if folder is not None and missing is not None else None


def _position_of_folder(folder: Path) -> str:
    shown = os.path.relpath(folder)
    return "." if shown == "." else shown + os.sep


# -- what the site feeds the model ----------------------------------------------------------------------------------

def _fed_inputs(site: Site, model: Any, namespace: dict[str, Any]) -> tuple[tuple[Any, ...] | None, str | None]:
    """The tensors the code after the site passes to the model it built (`out = model(x)`), when they can be made
    without touching the model; else None."""
    statement = site.statement
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name) and _the_module(statement.value, site.call)):
        return None, None
    name = statement.targets[0].id
    later = _later_statements(site.tree, statement) if site.tree is not None else []
    # into the blocks after it too: a training loop's first step feeds it (`hidden = torch.zeros(...)`, then
    # `output = model(hidden, batch)`), its statements before the call run once, never the loop
    for candidate, before in paths_to(later, False):
        if isinstance(candidate, COMPOUND_STATEMENTS):
            continue
        call = next((c for c in calls_in(candidate) if isinstance(c.func, ast.Name) and c.func.id == name
                     and not any(isinstance(a, ast.Starred) for a in c.args)), None)
        if call is None:
            if name in bound_names(candidate):   # the name is another object from here on
                return None, None
            continue
        statements = _statements_between(site, before, read_names(call), name)
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
        if _tensors(values):
            return values, _position(site.document, call.lineno)
        return None, None
    return None, None


# nn.Module methods that return the module itself: `model = Net(...).to(device)` binds the model that was built
_RETURNS_SELF = frozenset({"to", "cuda", "cpu", "eval", "train", "float", "double", "half", "bfloat16", "type",
                           "requires_grad_", "apply", "to_empty", "share_memory"})


def _the_module(value: ast.expr, call: ast.Call) -> bool:
    """`value` is the site's call, or a chain of the module's methods that return it (`Net(...).to(device).eval()`)."""
    while value is not call:
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                and value.func.attr in _RETURNS_SELF):
            return False
        value = value.func.value
    return True


class _Captured(Exception):
    """Raised by the hook that captured a part's inputs: the rest of the holder's forward need not run."""


def _inputs_from_holder(site: Site, model: Any, namespace: dict[str, Any],
                        arguments: dict[str, Any]) -> tuple[tuple[Any, ...] | None, str | None]:
    """The inputs a module built after the site around the model (`transformer = build_transformer(args)`, then
    `model = DETR(backbone, transformer, ...)`) passes it in its own forward: the holder is built around a copy of
    the model and run once on the inputs its own first layer takes, and a hook on the copy keeps what reached it.
    The repository's code feeding its part, where a guess from the part's first layer cannot know the layout (a
    feature map as [batch, channels, height, width] with its mask and position embeddings): only when that guess
    does not run, and only what the holder changed on the way (a holder that passes its own input through knows
    no more than the guess it was fed)."""
    statement = site.statement
    if not (isinstance(statement, ast.Assign) and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name) and statement.value is site.call and site.tree is not None):
        return None, None
    name = statement.targets[0].id
    later = _later_statements(site.tree, statement)
    for index, candidate in enumerate(later):
        holder_call = candidate.value if isinstance(candidate, ast.Assign) and len(candidate.targets) == 1 else None
        if not (isinstance(holder_call, ast.Call) and any(
                isinstance(a, ast.Name) and a.id == name for a in [*holder_call.args, *(k.value for k in holder_call.keywords)])):
            if name in bound_names(candidate):   # the name is another object from here on (the next README example)
                return None, None
            continue
        if _guess_runs(model, arguments):
            return None, None
        statements = _statements_between(site, later[:index], read_names(holder_call), name)
        part = copy.deepcopy(model)   # the holder may change what it holds (frozen weights); the model stays as built
        scope = {**namespace, name: part}
        captured: list[tuple[Any, ...]] = []

        def keep(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
            captured.append(forward_inputs(module, args, kwargs, skip_with_none=True)[0])
            raise _Captured

        try:
            # the holder's own weights do not matter here: a download it asks for is skipped, not refused
            with hub_weights(skip=True), user_stdout(), guarded(), torch.no_grad(), cpu_budget(SLICE_CPU_SECONDS):
                if _execute(statements, scope, site.document):
                    return None, None
                holder = _evaluate(holder_call, scope, site.document)
                if not isinstance(holder, torch.nn.Module) or not any(m is part for m in holder.modules()):
                    return None, None
                inputs, _ = infer_inputs(holder.eval())
                handle = part.register_forward_pre_hook(keep, with_kwargs=True)
                try:
                    holder(*inputs)
                except _Captured:
                    pass
                finally:
                    handle.remove()
        except Exception:
            return None, None
        values = captured[0] if captured else ()
        passed_through = len(values) == len(inputs) and all(v is i for v, i in zip(values, inputs))
        if _tensors(values) and not passed_through:
            return tuple(values), f"{_position(site.document, candidate.lineno)} ({type(holder).__name__}'s forward)"
        return None, None
    return None, None


def _guess_runs(model: Any, arguments: dict[str, Any]) -> bool:
    """Whether the model runs on the inputs its own first layer takes (on a copy: the model keeps its mode)."""
    try:
        inputs, _ = infer_inputs(model, "cpu", arguments)
        with user_stdout(), guarded(), torch.no_grad(), cpu_budget(SLICE_CPU_SECONDS):
            copy.deepcopy(model).eval()(*inputs)
    except Exception:
        return False
    return True


def _statements_between(site: Site, between: list[ast.stmt], needed: set[str], name: str) -> list[ast.stmt]:
    """What a later use of the model `name` depends on that the site's own slice did not run (`import torch` above
    it, statements between): never a statement that touches the model (`net.cuda()`, an optimiser of it)."""
    before = [s for s in [*site.path, *between] if not _touches(s, name)]
    ran = {id(s) for s in _site_statements(site)}
    return [s for s in program_slice(before, needed - {name}) if id(s) not in ran]


def _tensors(values: tuple[Any, ...]) -> bool:
    """Inputs the loader can use: tensors (a first one), or None for an optional argument left out."""
    return bool(values) and isinstance(values[0], torch.Tensor) and \
        all(isinstance(v, torch.Tensor) or v is None for v in values)


def _touches(statement: ast.stmt, name: str) -> bool:
    """Whether running the statement reads or rebinds `name` (a class or function body only runs when called)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return statement.name == name
    return name in read_names(statement) | bound_names(statement)


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
    sys.path while a site runs (scripts import the package from where they are run). A site in a module of a
    namespace package (`preprocessor/preprocessor.py`, imported as `preprocessor.preprocessor`) puts the folder
    above on sys.path, not its own: there its file would hide the package of the same name its callers import."""
    document = site.document.path
    folder = document.parent
    while (folder / "__init__.py").is_file():
        folder = folder.parent
    own = [str(document.parent), str(folder)]
    if document.suffix == ".py" and folder == document.parent:
        _, imported_from, in_package = module_name_for(document)
        own = [imported_from] if in_package else own
    folders = dict.fromkeys([*own, str(target.file.parent), str(repository_root(target.file))])
    return user_code_scope(list(folders))


__all__ = ["BuiltAtSite", "NotThisModel", "Site", "SiteFailed", "SiteTarget", "command_lines", "find_sites", "site_factory",
           "sites_scope"]

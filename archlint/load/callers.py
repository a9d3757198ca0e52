"""The ways to a statement inside a function: through the calls that bind the function's parameters.

A statement in a function with required parameters (`def build(args): ... model = DETR(backbone, ...)`) cannot run
alone: its parameters are bound the way a caller binds them. Callers are looked for in the statement's document (a
helper and the factory that calls it) and, when none is there, in the repository's documents that import the
function from it (`from .detr import build`, `import TD3` then `TD3.TD3(**kwargs)`: calling a class calls its
`__init__`), a few callers deep, up to a call whose own way needs no parameters: a script's main guard, a README
example, a test. A caller in another document runs in that document's own namespace, so its way is carried as a
`CallerFrame` on a marker statement: the executor runs the frame, then binds the function's parameters from the
frame's call as Python would (defaults read in the function's own module).
"""
from __future__ import annotations

import ast
import collections
import copy
import functools
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from archlint.load.imports import Origin, calls_into, imported_names
from archlint.load.repository import Document, documents_mentioning, read_document, repository_root
from archlint.load.slicing import (
    SELF,
    UNBOUND,
    bound_names,
    called_name,
    calls_in,
    parameter_defaults,
    paths_to,
    program_slice,
    read_names,
    syntax_tree,
)

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
MOST_CALLER_DEPTH = 5   # callers of callers: main.py -> models/__init__.py:build_model -> detr.py:build -> build_backbone
MOST_WAYS = 2           # calls of a function followed (the nearest): each is a slice to run


@dataclass(eq=False)
class Scope:
    """A document read for its ways: the paths to each statement, the function around each, the class around each
    function, its module-level aliases and what its imports bind."""

    document: Document
    tree: ast.Module
    paths: list[tuple[ast.stmt, list[ast.stmt]]]
    enclosing: dict[int, FunctionNode]
    owners: dict[int, ast.ClassDef]
    aliases: dict[str, str]

    @functools.cached_property
    def chosen_aliases(self) -> dict[str, list[str]]:
        """Names bound several times, each time to another dotted name (`Exp = Exp_Long_Term_Forecast` in one
        branch, `Exp = Exp_Imputation` in another): calling the name calls one of them, as the branch taken chose."""
        bindings: dict[str, list[str | None]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                dotted = isinstance(node.value, (ast.Name, ast.Attribute))
                bindings.setdefault(node.targets[0].id, []).append(ast.unparse(node.value) if dotted else None)
        stores = collections.Counter(n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)
                                     and isinstance(n.ctx, ast.Store))
        return {name: [b for b in bound if b] for name, bound in bindings.items()
                if len(bound) > 1 and len(bound) == stores[name] and all(bound)}

    @functools.cached_property
    def registries(self) -> dict[str, list[ast.expr]]:
        """Dicts of classes or functions written out (`ARCHITECTURES = {"SSDDetector": SSDDetector}`): the name each
        is bound to, and the names among its values."""
        found: dict[str, list[ast.expr]] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) \
                    and isinstance(node.value, ast.Dict):
                named = [v for v in node.value.values if isinstance(v, (ast.Name, ast.Attribute))]
                if named:
                    found.setdefault(node.targets[0].id, []).extend(named)
        return found

    @functools.cached_property
    def picked(self) -> dict[str, str]:
        """Names bound to an entry of such a dict (`meta_arch = ARCHITECTURES[cfg.MODEL.ARCH]`): the dict's name."""
        found: dict[str, str] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                registry = _registry_read(node.value)
                if registry in self.registries:
                    found[node.targets[0].id] = registry
        return found

    @functools.cached_property
    def imported(self) -> dict[str, list[Origin]]:
        return imported_names(self.document.path, self.tree, repository_root(self.document.path))


@functools.lru_cache(maxsize=256)
def scope_of(document: Document) -> Scope | None:
    tree = syntax_tree(document)
    if tree is None:
        return None
    owners = {id(f): c for c in ast.walk(tree) if isinstance(c, ast.ClassDef)
              for f in c.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))}
    return Scope(document, tree, list(paths_to(tree.body, True)), _enclosing_functions(tree), owners,
                 _module_aliases(tree))


@dataclass(frozen=True, eq=False)
class CallerFrame:
    """A call of `function` in another document: the statements its arguments depend on (a slice of that document,
    run in its own namespace), and the call."""

    document: Document
    statements: list[ast.stmt]
    call: ast.Call
    function: FunctionNode
    method: bool   # an `__init__` called through its class: `self` is not among the call's arguments

    def __deepcopy__(self, memo: dict[int, Any]) -> CallerFrame:   # a slice is copied with its markers, not its frames
        return self


def frame_of(statement: ast.stmt) -> CallerFrame | None:
    """The caller frame a marker statement carries, if it is one."""
    return getattr(statement, "caller_frame", None)


def _enclosing_functions(tree: ast.Module) -> dict[int, FunctionNode]:
    """Statement id -> the innermost function around it."""
    found: dict[int, FunctionNode] = {}
    for function in ast.walk(tree):   # breadth first: an inner function comes later and wins
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(function):
                if isinstance(node, ast.stmt) and node is not function:
                    found[id(node)] = function
    return found


def _parametrize_values(function: FunctionNode, aliases: dict[str, str]) -> list[ast.stmt]:
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


_COMPOSE = "__archlint_hydra_config__"


def _hydra_config(function: FunctionNode, scope: Scope) -> list[ast.stmt]:
    """For a script's `@hydra.main(config_path="../configs", config_name="train") def main(config)`, the statements
    binding `config` to what hydra composes from those files (config_files.composed_hydra_config), the config
    store the module fills (`cs.store(group="model", name="las", node=LASConfig)`) read by it; none for another
    function."""
    decorator = next((d for d in function.decorator_list if isinstance(d, ast.Call)
                      and scope.aliases.get(ast.unparse(d.func), ast.unparse(d.func)).endswith("hydra.main")), None)
    positional = _positional(function)
    if decorator is None or not positional:
        return []
    given = dict(zip(("config_path", "config_name"), decorator.args)) | {k.arg: k.value for k in decorator.keywords
                                                                          if k.arg}
    stores = [ast.Name(name, ast.Load()) for name in _config_stores(scope.tree)]
    imported = ast.ImportFrom("archlint.load.config_files", [ast.alias("composed_hydra_config", _COMPOSE)], 0)
    call = ast.Call(ast.Name(_COMPOSE, ast.Load()), [given.get("config_path", ast.Constant(None)),
                                                     given.get("config_name", ast.Constant(None)),
                                                     ast.Constant(str(scope.document.path)), *stores], [])
    bound = ast.Assign([ast.Name(positional[0].arg, ast.Store())], call)
    return [ast.fix_missing_locations(ast.copy_location(s, decorator)) for s in (imported, bound)]


def _config_stores(tree: ast.Module) -> list[str]:
    """Names the module binds to hydra's config store (`cs = ConfigStore.instance()`)."""
    return [n.targets[0].id for n in tree.body if isinstance(n, ast.Assign) and len(n.targets) == 1
            and isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Call)
            and ast.unparse(n.value.func).endswith("ConfigStore.instance")]


def _module_aliases(tree: ast.Module) -> dict[str, str]:
    """Names the document binds once, and only to another dotted name (`param = pytest.mark.parametrize`,
    `Exp = Exp_Informer`), as source text: calling the name calls what it names."""
    stored: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            stored[node.id] = stored.get(node.id, 0) + 1
    found: dict[str, str] = {}
    for statement in ast.walk(tree):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0], ast.Name) and isinstance(statement.value, (ast.Name, ast.Attribute)) \
                and stored.get(statement.targets[0].id) == 1:
            found[statement.targets[0].id] = ast.unparse(statement.value)
    return found


def followed_alias(node: ast.expr, scope: Scope) -> ast.expr:
    """What a name of the document names once its aliases are followed (`Exp` names `Exp_Informer`)."""
    return _callee(node, scope.aliases)


def _callee(func: ast.expr, aliases: dict[str, str]) -> ast.expr:
    """What a call's callee names once the document's aliases are followed (`Exp(args)` calls `Exp_Informer`)."""
    for _ in range(3):   # an alias of an alias
        if not (isinstance(func, ast.Name) and func.id in aliases):
            break
        func = ast.parse(aliases[func.id], mode="eval").body
    return func


def _callees(call: ast.Call, scope: Scope) -> list[ast.expr]:
    """What a call may call: its callee once the aliases are followed, or each name a branch bound it to, or each
    entry of the dict it looks its callee up in (`ARCHITECTURES[name](cfg)`, `meta_arch(cfg)` after `meta_arch =
    ARCHITECTURES[name]`)."""
    callee = _callee(call.func, scope.aliases)
    chosen = scope.chosen_aliases.get(callee.id, []) if isinstance(callee, ast.Name) else []
    registry = _registry_read(call.func) or (scope.picked.get(call.func.id) if isinstance(call.func, ast.Name) else None)
    return [callee, *(ast.parse(name, mode="eval").body for name in chosen), *scope.registries.get(registry or "", [])]


def _registry_read(node: ast.expr) -> str | None:
    """The dict's name of `REGISTRY[key]` or `REGISTRY.get(key)`."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        return node.value.id
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and \
            isinstance(node.func.value, ast.Name):
        return node.func.value.id
    return None


def _calls_name(call: ast.Call, name: str | None, scope: Scope) -> bool:
    return any(isinstance(callee, ast.Name) and callee.id == name for callee in _callees(call, scope))


def called_through_aliases(call: ast.Call, scope: Scope) -> str | None:
    """The name a call calls, its document's aliases followed (`Net = ResNet; Net(depth=18)` calls `ResNet`)."""
    callee = _callee(call.func, scope.aliases)
    return callee.id if isinstance(callee, ast.Name) else callee.attr if isinstance(callee, ast.Attribute) else None


def _bound_by(statements: list[ast.stmt]) -> set[str]:
    return set().union(*(bound_names(s) for s in statements)) if statements else set()


def _unbound_marker(function: FunctionNode) -> ast.stmt:
    """A statement recording, for the error message, which parameters no call binds (`load_model(name)`)."""
    required = _required_parameters(function)
    said = f"{function.name}(), whose required parameter{'s' if len(required) > 1 else ''} " + \
        ", ".join(f"`{r}`" for r in required)
    marker = ast.Assign([ast.Name(UNBOUND, ast.Store())], ast.Constant(said))
    return ast.fix_missing_locations(ast.copy_location(marker, function))


def ways_to(statement: ast.stmt, path: list[ast.stmt], scope: Scope, depth: int = 0,
            binds: Callable[[list[ast.stmt]], bool] = lambda bound: True) -> Iterator[list[ast.stmt]]:
    """The statement's path; in a function with required parameters (`def _build(embed_dim, depth)`), the path
    through each call of the function in the document (`return _build(embed_dim=768, depth=12)`) instead, its
    arguments bound to the parameters (the first few calls whose bindings `binds` takes), and so on up through the
    callers' own functions; with no such call in the document, through the calls of the repository's documents that
    import it."""
    function = scope.enclosing.get(id(statement))
    if function is None or not _required_parameters(function):
        yield path
        return
    inside = next((p for s, p in paths_to(function.body, False) if s is statement), [])
    parametrized = _parametrize_values(function, scope.aliases) or _hydra_config(function, scope)
    if parametrized and not set(_required_parameters(function)) - _bound_by(parametrized):
        # a test: its parameters take the first values of its @pytest.mark.parametrize decorators; a hydra main:
        # its configuration, composed as hydra composes it
        yield [*path[:len(path) - len(inside)], *parametrized, *inside]
        return
    called_as = _called_as(function, scope)
    ways = 0
    for caller, caller_path in scope.paths if called_as else []:
        for call in [*calls_in(caller), *_launched_calls(caller)]:
            if not (_calls_name(call, called_as, scope) and ways < MOST_WAYS):
                continue
            bound = _bound_arguments(function, call)
            if bound is None or not binds(bound):
                continue
            way = caller_way(caller, caller_path, call, scope, depth + 1) if depth < MOST_CALLER_DEPTH else caller_path
            ways += 1
            yield [*way, *bound, *inside]
    if not ways and called_as and depth < MOST_CALLER_DEPTH and _importable(function, scope):
        for frame in _frames_elsewhere(scope, function, called_as, depth):
            ways += 1
            yield [*path[:len(path) - len(inside)], _frame_marker(frame), *inside]
    if not ways:
        yield [*path, _unbound_marker(function)]


def caller_way(caller: ast.stmt, caller_path: list[ast.stmt], call: ast.Call, scope: Scope,
               depth: int) -> list[ast.stmt]:
    """The way to a statement that calls a function on the way to a site; through an instance of its class when
    what the call hands on is computed from the instance (a runner's `__init__`: `self.args = args`, then
    `self.args.state_dim = self.env.observation_space.shape[0]`, then `DQN(args)`)."""
    ways = ways_through_instance(caller, caller_path, scope, depth) \
        if reads_instance_of(call, caller, caller_path, scope) else ways_to(caller, caller_path, scope, depth)
    return next(ways, caller_path)


def reads_instance_of(call: ast.Call, statement: ast.stmt, path: list[ast.stmt], scope: Scope) -> bool:
    """The call's arguments read the instance of the method it is in, themselves or through the method's statements
    they are computed from (`args, config = self.args, self.config`, then `Model(config)`)."""
    function = scope.enclosing.get(id(statement))
    if function is None:
        return False
    inside = {id(s) for s in ast.walk(function) if isinstance(s, ast.stmt)}
    computed_from = [s for s in program_slice(path, read_names(call)) if id(s) in inside]
    return any(name == SELF or name.startswith(f"{SELF}.") for node in [call, *computed_from]
               for name in read_names(node))


def ways_through_instance(statement: ast.stmt, path: list[ast.stmt], scope: Scope,
                          depth: int = 0) -> Iterator[list[ast.stmt]]:
    """The ways to a statement in a method that reads the instance's attributes (`self.critic = Critic(self.hidden,
    self.outputs)` in a solver's `build_model`): an instance of the class made without running its `__init__`
    (`self`, bound by a marker the executor reads), then the statements of `__init__` the attributes come from
    (`self.hidden = config.hidden`, with `__init__`'s parameters bound by the calls of the class), then the method's
    own statements before it. An inherited `__init__` (an experiment class whose base keeps `self.args = args`)
    runs as if it were the class's own, its parameters bound by the calls of the class."""
    function = scope.enclosing.get(id(statement))
    owner = scope.owners.get(id(function)) if function is not None else None
    if owner is None or owner not in scope.tree.body or not _positional_with_self(function):
        return
    marker = _instance_marker(owner, function)
    if function.name == "__init__":
        for way in ways_to(statement, path, scope, depth):
            yield _before_body(way, function, [owner, marker])
        return
    init = _own_init(owner)
    inside = next((p for s, p in paths_to(function.body, False) if s is statement), [])
    if init is not None:
        last = init.body[-1]
        last_path = next(p for s, p in scope.paths if s is last)
        # `super().__init__(args)`: the base's __init__ (of the repository) runs on the instance, its parameters
        # bound by that call, as if its statements were the class's own
        base = _base_init_run(init, owner, scope)
        for way in ways_to(last, last_path, scope, depth):
            yield _first_of_each([*_before_body(way, init, [owner, marker]), *base, last, *inside])
        return
    outer = path[:len(path) - len(inside)]
    inherited = _inherited_init(owner, scope)
    if inherited is None:
        yield [*outer, owner, marker, *inside]
        return
    for binding in _class_call_bindings(inherited, owner, scope):
        # the base's __init__ runs on the instance as if it were the class's own (in the class's module, with the
        # names of the base's module)
        yield _first_of_each([*outer, owner, marker, *_base_modules_names(owner, scope), *binding, *inherited.body,
                              *inside])


def _base_init_run(init: FunctionNode, owner: ast.ClassDef, scope: Scope) -> list[ast.stmt]:
    """The statements of the base's `__init__` that an `__init__` runs by `super().__init__(...)` (or
    `Base.__init__(self, ...)`), after the bindings of its parameters from that call; [] when it calls none of
    the repository's."""
    for statement in init.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "__init__"):
            continue
        receiver = call.func.value
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and receiver.func.id == "super":
            given = call
        elif isinstance(receiver, ast.Name) and call.args and isinstance(call.args[0], ast.Name) \
                and call.args[0].id == "self":
            given = ast.Call(call.func, call.args[1:], call.keywords)
        else:
            continue
        inherited = _inherited_init(owner, scope)
        bound = _bound_arguments(inherited, given) if inherited is not None else None
        return [*_base_modules_names(owner, scope), *bound, *inherited.body] \
            if bound is not None and inherited is not None else []
    return []


def _base_modules_names(owner: ast.ClassDef, scope: Scope) -> list[ast.stmt]:
    """`from exp.exp_basic import *` for each base the class's module imports by name: a base's `__init__` run as
    the class's own reads the names of its own module (`self.model_dict = LazyModelDict(...)`)."""
    bases = {b.id for b in owner.bases if isinstance(b, ast.Name)}
    found = []
    for statement in scope.tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module and \
                any(alias.name in bases for alias in statement.names):
            star = ast.ImportFrom(statement.module, [ast.alias("*")], statement.level)
            found.append(ast.fix_missing_locations(ast.copy_location(star, statement)))
    return found


def _own_init(owner: ast.ClassDef) -> FunctionNode | None:
    return next((f for f in owner.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and f.name == "__init__" and f.body), None)


def _inherited_init(owner: ast.ClassDef, scope: Scope, depth: int = 0) -> FunctionNode | None:
    """The `__init__` a class inherits from a base of the repository (in its document, or imported from another),
    nearest first; None when no base of the repository defines one."""
    for base in owner.bases:
        if not isinstance(base, ast.Name) or depth > 3:
            continue
        for base_class, base_scope in _classes_named(base.id, scope):
            found = _own_init(base_class) or _inherited_init(base_class, base_scope, depth + 1)
            if found is not None:
                return found
    return None


def _classes_named(name: str, scope: Scope) -> Iterator[tuple[ast.ClassDef, Scope]]:
    """The module-level class a name of the document refers to: defined there, or imported from the repository."""
    for statement in scope.tree.body:
        if isinstance(statement, ast.ClassDef) and statement.name == name:
            yield statement, scope
    for origin in scope.imported.get(name, []):
        document = read_document(origin.file) if origin.name else None
        other = scope_of(document) if document is not None else None
        for statement in other.tree.body if other is not None else []:
            if isinstance(statement, ast.ClassDef) and statement.name == origin.name:
                yield statement, other


def _class_call_bindings(init: FunctionNode, owner: ast.ClassDef, scope: Scope) -> Iterator[list[ast.stmt]]:
    """Statements binding an inherited `__init__`'s parameters as the calls of the class bind them: in the class's
    document, else in the documents importing it; its defaults when it requires none."""
    if not _required_parameters(init):
        yield parameter_defaults(init)
        return
    ways = 0
    for caller, caller_path in scope.paths:
        for call in calls_in(caller):
            bound = _bound_arguments(init, call) if _calls_name(call, owner.name, scope) and \
                ways < MOST_WAYS else None
            if bound is not None:
                ways += 1
                yield [*caller_way(caller, caller_path, call, scope, 1), *bound]
    if not ways:
        for frame in _frames_elsewhere(scope, init, owner.name, 0, method=True):
            ways += 1
            yield [_frame_marker(frame)]
    if not ways:
        yield [_unbound_marker(init)]


def _first_of_each(statements: list[ast.stmt]) -> list[ast.stmt]:
    """The statements in order, each once (a caller's path and the class's module path share their imports)."""
    return list({id(s): s for s in statements}.values())


def _positional_with_self(function: FunctionNode) -> bool:
    positional = [*function.args.posonlyargs, *function.args.args]
    return bool(positional) and positional[0].arg == "self"


def _instance_marker(owner: ast.ClassDef, function: FunctionNode) -> ast.stmt:
    """`self = Class`, marked: the executor binds `self` to an instance of the class whose `__init__` did not run."""
    marker = ast.Assign([ast.Name("self", ast.Store())], ast.Name(owner.name, ast.Load()))
    marker = ast.fix_missing_locations(ast.copy_location(marker, function))
    marker.bare_instance = True   # type: ignore[attr-defined]
    return marker


def is_instance_marker(statement: ast.stmt) -> bool:
    return getattr(statement, "bare_instance", False)


def _before_body(way: list[ast.stmt], function: FunctionNode, inserted: list[ast.stmt]) -> list[ast.stmt]:
    """The way with statements inserted before the first of the function's own body (after its parameters are
    bound), or at its end when none of them is on it."""
    body = {id(s) for s in ast.walk(function) if isinstance(s, ast.stmt) and s is not function}
    index = next((i for i, s in enumerate(way) if id(s) in body), len(way))
    return [*way[:index], *inserted, *way[index:]]


def _launched_calls(statement: ast.stmt) -> Iterator[ast.Call]:
    """The calls a launcher in the statement makes of the function handed to it, as calls: a distributed
    training script's `mp.spawn(main_worker, nprocs=n, args=(ngpus, args))` calls `main_worker(0, ngpus, args)`
    in each process (the first process's index is 0), `Process(target=train, args=(rank, args))` calls
    `train(rank, args)`. Only a literal tuple of arguments is read."""
    for call in calls_in(statement):
        launcher = called_name(call)
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        if launcher == "spawn":
            function = call.args[0] if call.args else keywords.get("fn")
            given = call.args[1] if len(call.args) > 1 else keywords.get("args", ast.Tuple([], ast.Load()))
            first: list[ast.expr] = [ast.Constant(0)]
        elif launcher == "Process":
            function, given, first = keywords.get("target"), keywords.get("args", ast.Tuple([], ast.Load())), []
        else:
            continue
        if isinstance(function, ast.Name) and isinstance(given, ast.Tuple):
            launched = ast.Call(ast.Name(function.id, ast.Load()), [*first, *given.elts], [])
            yield ast.fix_missing_locations(ast.copy_location(launched, call))


def _called_as(function: FunctionNode, scope: Scope) -> str | None:
    """The name a call of the function uses: its own; its class's for an `__init__`; None for another method (it
    is called on an instance, which a slice does not have)."""
    owner = scope.owners.get(id(function))
    if owner is None:
        return function.name
    return owner.name if function.name == "__init__" else None


def _importable(function: FunctionNode, scope: Scope) -> bool:
    """A module-level function, or the `__init__` of a module-level class: what another document can import."""
    owner = scope.owners.get(id(function))
    return function in scope.tree.body if owner is None else owner in scope.tree.body


def _frames_elsewhere(scope: Scope, function: FunctionNode, called_as: str, depth: int,
                      method: bool | None = None) -> Iterator[CallerFrame]:
    """The calls of the function (by the name `called_as`; `method`: it is an `__init__` called through a class)
    in the repository's other documents that import it from this one, nearest first, each with the slice of its
    own way."""
    method = scope.owners.get(id(function)) is not None if method is None else method
    found = 0
    for document in documents_mentioning(scope.document.path, frozenset({called_as})):
        other = scope_of(document) if document.path != scope.document.path else None
        for caller, caller_path in other.paths if other is not None else []:
            for call in calls_in(caller):
                if found >= MOST_WAYS or not any(calls_into(callee, other.imported, scope.document.path, called_as)
                                                 for callee in _callees(call, other)):
                    continue
                way = caller_way(caller, caller_path, call, other, depth + 1)
                found += 1
                yield CallerFrame(document, program_slice(way, read_names(call)), call, function, method)
        if found >= MOST_WAYS:
            return


def _frame_marker(frame: CallerFrame) -> ast.stmt:
    """A statement binding the function's parameters (for the slice) that carries the frame (for the executor)."""
    names = [ast.Name(n, ast.Store()) for n in _parameter_names(frame.function)]
    marker = ast.Assign([ast.Tuple(names, ast.Store())], ast.Constant(None))
    marker = ast.fix_missing_locations(ast.copy_location(marker, frame.function))
    marker.caller_frame = frame   # type: ignore[attr-defined]
    return marker


def _parameter_names(function: FunctionNode) -> list[str]:
    arguments = function.args
    every = [*_positional(function), arguments.vararg, *arguments.kwonlyargs, arguments.kwarg]
    return [a.arg for a in every if a is not None]


def bound_values(frame: CallerFrame, args: tuple[Any, ...], kwargs: dict[str, Any],
                 namespace: dict[str, Any]) -> dict[str, Any]:
    """The function's parameters as Python binds them for a call with these values, its defaults evaluated in its
    own module's `namespace`; a call that does not fit raises the TypeError Python would (named as the function)."""
    arguments = copy.deepcopy(frame.function.args)
    for argument in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]:
        if argument is not None:
            argument.annotation = None   # an annotation may name what the slice never imported
    returns = ast.Return(ast.Call(ast.Name("locals", ast.Load()), [], []))
    definition = ast.FunctionDef(name=frame.function.name, args=arguments, body=[returns], decorator_list=[])
    code = compile(ast.fix_missing_locations(ast.Module([definition], type_ignores=[])), "<archlint binding>", "exec")
    scope = dict(namespace)
    exec(code, scope)
    values = scope[frame.function.name](*([None] if frame.method else []), *args, **kwargs)
    if frame.method:
        values.pop(frame.function.args.args[0].arg, None)
    return values


def _positional(function: FunctionNode) -> list[ast.arg]:
    """The positional parameters a call gives values for: a method's `self`/`cls` is given by Python."""
    positional = [*function.args.posonlyargs, *function.args.args]
    return positional[1:] if positional and positional[0].arg in ("self", "cls") else positional


def _required_parameters(function: FunctionNode) -> list[str]:
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    required = [a.arg for a in positional[:len(positional) - len(arguments.defaults)]]
    required += [a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is None]
    return [r for r in required if r not in ("self", "cls")]


def _bound_arguments(function: FunctionNode, call: ast.Call) -> list[ast.stmt] | None:
    """`parameter = argument` for a call of the function (defaults for the rest), or None when the call cannot be
    bound statically (`*args`, `**kwargs` of unknown keys, a required parameter not given)."""
    arguments = function.args
    positional = _positional(function)
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
    defaults = {s.targets[0].id: s for s in parameter_defaults(function)}   # type: ignore[attr-defined]
    if any(name not in values for name in _required_parameters(function)):
        return None
    bound = [ast.fix_missing_locations(ast.copy_location(ast.Assign([ast.Name(n, ast.Store())], v), call))
             for n, v in values.items()]
    return bound + [s for n, s in defaults.items() if n not in values]


_MAPPING = "__archlint_keywords__"


def _bound_from_mapping(function: FunctionNode, call: ast.Call) -> list[ast.stmt] | None:
    """A call with `**mapping` (`create_model(**vars(args))`, `build(**config)`) bound as Python binds it, when it
    runs: the keywords merged into one dict, then each parameter its keyword, else its default; a required one the
    mapping lacks fails there (KeyError), and the site says so."""
    arguments = function.args
    positional = _positional(function)
    if arguments.vararg is not None or arguments.kwarg is not None:
        return None
    merged = ast.Dict([None if k.arg is None else ast.Constant(k.arg) for k in call.keywords],
                      [k.value for k in call.keywords])
    given = {p.arg: a for p, a in zip(positional, call.args)}
    defaults = {s.targets[0].id: s.value for s in parameter_defaults(function)}   # type: ignore[attr-defined]
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


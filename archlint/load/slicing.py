"""Reading a slice of code: which names a statement binds, changes and reads, the statements on the way to each
statement of a block, and the statements a set of names depends on (a program slice)."""
from __future__ import annotations

import ast
import copy
import functools
from typing import Iterator

from archlint.load.flow import walk_scope
from archlint.load.repository import Document
from archlint.mechanics.source import is_main_guard

UNBOUND = "__archlint_unbound__"   # bound by a statement saying which parameters no call binds (for the message)


def bound_names(node: ast.AST) -> set[str]:
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


SELF = "self"   # an instance's attributes are names of their own in a slice: `self.hidden`, `self.args`


def _base_name(node: ast.expr) -> str | None:
    """The name an expression's object hangs from (`cfg` of `cfg.model.depth`); an attribute of `self` is its own
    (`self.encoder.layers` -> `self.encoder`)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        if _self_attribute(node):
            return f"{SELF}.{node.attr}"   # type: ignore[union-attr]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return None   # what a function returns is a new object (`super().__init__()` changes no name)
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _self_attribute(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == SELF


def changed_names(statement: ast.stmt) -> set[str]:
    """Names a statement changes in place: `cfg.x = 1`, `d["k"] = v`, `parser.add_argument(...)`, `x.append(1)`."""
    changed: set[str] = set()
    for child in walk_scope(statement):
        if isinstance(child, (ast.Attribute, ast.Subscript)) and isinstance(child.ctx, ast.Store):
            base = _base_name(child)
            if base:
                changed.add(base)
        # a method called for its effect, here or in a block of the statement (`for k, v in config.items():
        # parser.add_argument(f"--{k}", default=v)`)
        if isinstance(child, ast.Expr) and isinstance(child.value, ast.Call) and \
                isinstance(child.value.func, ast.Attribute) and \
                not (child is not statement and isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                        ast.ClassDef))):
            base = _base_name(child.value.func.value)
            if base:
                changed.add(base)
    return changed


def read_names(node: ast.AST) -> set[str]:
    """Every name the node reads, in nested functions too (a helper defined in the slice reads globals when
    called), but not a nested function's or comprehension's own names (its parameters and locals: the `self` of a
    class's methods is no name of the slice); an attribute of `self` read is its own name (`self.hidden`)."""
    attributes = {id(child.value): f"{SELF}.{child.attr}" for child in ast.walk(node)
                  if _self_attribute(child) and isinstance(child.ctx, ast.Load)}   # type: ignore[attr-defined]
    return {attributes.get(id(child), child.id) for child in _free_reads_of(node, frozenset())}


_OWN_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.ListComp, ast.SetComp,
               ast.DictComp, ast.GeneratorExp)


def _free_reads(node: ast.AST, local: frozenset[str]) -> Iterator[ast.Name]:
    """The Name loads under `node` that are not names of a nested scope they are read in."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, _OWN_SCOPES):
            # what is evaluated where the scope is made (decorators, defaults, bases, the first iterable) is
            # read here; the rest in the scope, with its own names
            outer, inner = _made_here(child)
            for part in outer:
                yield from _free_reads_of(part, local)
            inside = local | _scope_names(child)
            for part in inner:
                yield from _free_reads_of(part, inside)
        elif isinstance(child, ast.Name):
            if isinstance(child.ctx, ast.Load) and child.id not in local:
                yield child
        else:
            if isinstance(child, ast.AugAssign) and isinstance(child.target, ast.Name) and \
                    child.target.id not in local:
                # `model += [block]` reads `model` before it binds it
                yield ast.copy_location(ast.Name(child.target.id, ast.Load()), child.target)
            yield from _free_reads(child, local)


def _free_reads_of(node: ast.AST, local: frozenset[str]) -> Iterator[ast.Name]:
    if isinstance(node, ast.Name):
        if isinstance(node.ctx, ast.Load) and node.id not in local:
            yield node
        return
    # the node as the child of a wrapper: a def, class, lambda or comprehension is then a scope of its own
    wrapper = ast.Expr(node) if isinstance(node, ast.expr) else ast.Module([node], []) \
        if isinstance(node, ast.stmt) else node
    yield from _free_reads(wrapper, local)


def _made_here(scope: ast.AST) -> tuple[list[ast.AST], list[ast.AST]]:
    """(parts evaluated in the enclosing scope, parts evaluated in the scope itself)."""
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = scope.args
        defaults = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
        annotations = [a.annotation for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
                       if a.annotation is not None] if not isinstance(scope, ast.Lambda) else []
        decorators = [] if isinstance(scope, ast.Lambda) else [*scope.decorator_list, *filter(None, [scope.returns])]
        body = [scope.body] if isinstance(scope, ast.Lambda) else scope.body
        return [*decorators, *defaults, *annotations], list(body)
    if isinstance(scope, ast.ClassDef):
        return [*scope.decorator_list, *scope.bases, *(k.value for k in scope.keywords)], list(scope.body)
    generators = scope.generators   # type: ignore[attr-defined]
    elements = [scope.key, scope.value] if isinstance(scope, ast.DictComp) else [scope.elt]   # type: ignore[attr-defined]
    inner = [*elements, *(g.target for g in generators), *(c for g in generators for c in g.ifs),
             *(g.iter for g in generators[1:])]
    return [generators[0].iter], inner


def _scope_names(scope: ast.AST) -> frozenset[str]:
    """A nested scope's own names: its parameters, and what it binds that it does not declare global."""
    names: set[str] = set()
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        arguments = scope.args
        names |= {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                  *filter(None, [arguments.vararg, arguments.kwarg])]}
    if isinstance(scope, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        targets: list[ast.AST] = [g.target for g in scope.generators]
    else:
        body = [scope.body] if isinstance(scope, ast.Lambda) else scope.body   # type: ignore[attr-defined]
        targets = [n for part in body for n in walk_scope(part)]
    declared = {name for n in targets if isinstance(n, (ast.Global, ast.Nonlocal)) for name in n.names}
    for target in targets:
        for n in ast.walk(target) if isinstance(scope, (ast.ListComp, ast.SetComp, ast.DictComp,
                                                         ast.GeneratorExp)) else [target]:
            if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                names.add(n.id)
            elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(n.name)
            elif isinstance(n, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in n.names if a.name != "*"}
    return frozenset(names - declared)


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)
# statements holding blocks (`paths_to` yields what is inside them, then them)
COMPOUND_STATEMENTS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.For, ast.While, ast.With,
                       ast.Try, ast.AsyncFor, ast.AsyncWith)


def paths_to(body: list[ast.stmt], top_level: bool) -> Iterator[tuple[ast.stmt, list[ast.stmt]]]:
    """(statement, the statements executed before it on the way there) for every simple statement of a block,
    descending into compound statements: an `if` branch is taken, a loop's target bound to its first item, a
    function's parameters bound to their defaults. A module's main guard is entered only for its own sites."""
    before: list[ast.stmt] = []
    for index, statement in enumerate(body):
        # a module's function runs once the module is loaded: it sees the definitions below it too
        defined_later = [s for s in body[index + 1:] if isinstance(s, DEFINITIONS)] \
            if top_level and isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) else []
        for child_body, entry in _child_blocks(statement):
            for inner, inner_before in paths_to(child_body, False):
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
        yield statement.body, parameter_defaults(statement)
    elif isinstance(statement, ast.ClassDef):   # its methods: `self.down1 = Down(64, 128)` in a model's __init__
        yield statement.body, []


def parameter_defaults(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.stmt]:
    """`name = default` for each parameter that has one: a site in a function runs as if it were called bare
    (`*args` an empty tuple, `**kwargs` an empty dict, as Python binds them)."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    pairs: list[tuple[ast.arg, ast.expr]] = list(zip(positional[len(positional) - len(arguments.defaults):],
                                                     arguments.defaults))
    pairs += [(a, d) for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is not None]
    pairs += [(a, empty) for a, empty in ((arguments.vararg, ast.Tuple([], ast.Load())),
                                          (arguments.kwarg, ast.Dict([], []))) if a is not None]
    return [ast.fix_missing_locations(ast.copy_location(ast.Assign([ast.Name(a.arg, ast.Store())], default), function))
            for a, default in pairs]


def program_slice(path: list[ast.stmt], needed: set[str]) -> list[ast.stmt]:
    """The statements of `path` the names in `needed` depend on, in order: until nothing more is added, since a
    statement that changes an object in place may come after one that reads it (`FLAGS = flags.FLAGS`, then
    `flags.DEFINE_integer("T", 1000, ...)`)."""
    kept: set[int] = set()
    needed = set(needed) | {UNBOUND}
    aliases = _aliases(path)
    while True:
        added = False
        for statement in reversed(path):
            if id(statement) in kept:
                continue
            bound, changed = bound_names(statement), changed_names(statement)
            # an attribute of `self` needs `self` too; `self` itself (handed on whole) needs all its attributes
            roots = needed | {name.split(".")[0] for name in needed}
            whole_self = {c for c in changed if c.startswith(f"{SELF}.")} if SELF in needed else set()
            # an object changed under another of its names is changed (`self.args = args`, then
            # `self.args.state_dim = ...`, then `DQN(args)`)
            changed = changed | {alias for name in changed for alias in aliases.get(name, ())}
            if "*" in bound or bound & roots or changed & needed or whole_self or changed & {"sys", "os"}:
                kept.add(id(statement))
                needed |= read_names(statement)
                added = True
        if not added:
            return [statement for statement in path if id(statement) in kept]


def _aliases(path: list[ast.stmt]) -> dict[str, set[str]]:
    """For each name a plain assignment of the path makes another name of the same object (`self.args = args`,
    `opt = args`), the other names; a name bound again to something else is still taken as an alias (a slice
    keeps more, never less)."""
    aliases: dict[str, set[str]] = {}
    for statement in path:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = _plain_name(statement.targets[0]), _plain_name(statement.value)
            if target and value and target != value:
                aliases.setdefault(target, set()).add(value)
                aliases.setdefault(value, set()).add(target)
    return aliases


def _plain_name(node: ast.expr) -> str | None:
    """`args` or `self.args`: a name the slice follows as its own."""
    if isinstance(node, ast.Name):
        return node.id
    return f"{SELF}.{node.attr}" if _self_attribute(node) else None   # type: ignore[attr-defined]


def calls_in(statement: ast.stmt) -> Iterator[ast.Call]:
    for child in walk_scope(statement):
        if isinstance(child, ast.Call):
            yield child


def called_name(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else \
        call.func.attr if isinstance(call.func, ast.Attribute) else None


RETURNED = "__archlint_returned__"   # raised, with its line, where a slice's statement reaches its function's return


class _ReturnRaised(ast.NodeTransformer):
    """`return` of the function a statement was taken from, made `raise RETURNED(line)`: run at module level the
    statement still compiles, and reaching the return says the function ends before the site."""

    def visit_Return(self, node: ast.Return) -> ast.stmt:
        raised = ast.Raise(ast.Call(ast.Name(RETURNED, ast.Load()), [ast.Constant(node.lineno)], []), None)
        return ast.copy_location(raised, node)

    def _own_scope(self, node: ast.AST) -> ast.AST:
        return node   # a nested function's or class's returns are its own

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = visit_Lambda = _own_scope


def at_module_level(statement: ast.stmt) -> ast.stmt:
    """The statement as module-level code: a function body's `try: import x` / `except ImportError: return`
    compiles there only with its returns raised (see _ReturnRaised)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or \
            not any(isinstance(child, ast.Return) for child in walk_scope(statement)):
        return statement
    return ast.fix_missing_locations(_ReturnRaised().visit(copy.deepcopy(statement)))


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


@functools.lru_cache(maxsize=1024)
def syntax_tree(document: Document) -> ast.Module | None:
    return parse_leniently(document.source)

"""Where a function's return value flows from, read from its code (nothing runs).

`model = VGG(make_layers(cfg)); return model.to(device)` returns what the call `VGG(...)` built: a return value
is followed back through the function's own assignments, conditional expressions, tuples and lists (a factory that
returns `model, criterion`) and the methods that return their object (`.to()`, `.eval()`), to calls. Which calls
count is the caller's question: a class resolved in a module (discovery), a name of the model's repository
(construction sites).
"""
from __future__ import annotations

import ast
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")

RETURNS_SELF = {"to", "eval", "train", "cuda", "cpu", "float", "half", "double", "bfloat16", "requires_grad_",
                "apply", "type", "share_memory", "to_empty"}
MOST_STEPS = 8   # assignments followed back from one return value


def walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """ast.walk that does not enter the bodies of nested functions, lambdas and classes."""
    pending = [node]
    while pending:
        current = pending.pop()
        yield current
        if current is not node and isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                                         ast.Lambda)):
            continue
        pending.extend(ast.iter_child_nodes(current))


def returned_from(function: ast.FunctionDef | ast.AsyncFunctionDef,
                  source: Callable[[ast.Call], T | None]) -> T | None:
    """The first answer `source` gives for a call that one of the function's return values flows from, else None."""
    assigned: dict[str, list[ast.expr]] = {}
    for node in walk_scope(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and isinstance(node.target, ast.Name) and node.value:
            assigned.setdefault(node.target.id, []).append(node.value)

    def follow(node: ast.expr, steps: int) -> T | None:
        if steps > MOST_STEPS:
            return None
        if isinstance(node, ast.Name):
            values = assigned.get(node.id, [])
        elif isinstance(node, (ast.Tuple, ast.List)):
            values = node.elts
        elif isinstance(node, ast.IfExp):
            values = [node.body, node.orelse]
        elif isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr in RETURNS_SELF:
                inner = follow(node.func.value, steps + 1)
                if inner is not None:
                    return inner
            return source(node)
        else:
            return None
        return next((found for found in (follow(v, steps + 1) for v in values) if found is not None), None)

    for node in walk_scope(function):
        if isinstance(node, ast.Return) and node.value is not None:
            found = follow(node.value, 0)
            if found is not None:
                return found
    return None

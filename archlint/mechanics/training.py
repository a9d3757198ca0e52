"""Training code, read from the syntax tree: what archlint never runs.

Linting builds a model and runs it a few times; it never trains it. Python code says when it trains: a loop that
calls `backward()`, steps an optimiser or zeroes gradients, a trainer's `fit(...)`, or a call of the file's own
function or method that does one of these. Tutorials, lecture scripts and notebooks do this at module level, with no
`if __name__ == "__main__":` guard, below the model they define; importing such a file for its model must leave that
work out.
"""
from __future__ import annotations

import ast

from archlint.mechanics.source import is_main_guard

TRAINING_CALLS = ("backward", "step", "zero_grad")


def _calls(node: ast.AST) -> list[ast.Call]:
    return [child for child in ast.walk(node) if isinstance(child, ast.Call)]


def _method_name(call: ast.Call) -> str | None:
    return call.func.attr if isinstance(call.func, ast.Attribute) else None


def trains(node: ast.AST) -> bool:
    """The code has a loop that trains (calls backward, steps an optimiser or zeroes gradients)."""
    return any(isinstance(loop, (ast.For, ast.While, ast.AsyncFor)) and
               any(_method_name(call) in TRAINING_CALLS for call in _calls(loop))
               for loop in ast.walk(node))


def _training_functions(tree: ast.Module) -> tuple[set[str], set[str]]:
    """Names of the module's top-level functions, and of its classes' methods, that train, directly or through
    another of them (`main()` calling `train(epoch)`, `solver.train()` calling `self.step()`)."""
    functions = {s.name: s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    methods = {m.name: m for c in tree.body if isinstance(c, ast.ClassDef)
               for m in c.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
    training_functions = {name for name, f in functions.items() if trains(f)}
    training_methods = {name for name, m in methods.items() if trains(m)}
    changed = True
    while changed:   # until no function or method is added: a call chain of any depth
        changed = False
        for names, definitions in ((training_functions, functions), (training_methods, methods)):
            for name, definition in definitions.items():
                if name not in names and _calls_training(definition, training_functions, training_methods):
                    names.add(name)
                    changed = True
    return training_functions, training_methods


def _calls_training(node: ast.AST, functions: set[str], methods: set[str]) -> bool:
    for call in _calls(node):
        if isinstance(call.func, ast.Name) and call.func.id in functions:
            return True
        if _method_name(call) in methods:
            return True
    return False


def _is_trainer_fit(statement: ast.stmt) -> bool:
    """`trainer.fit(model, data)`: an expression statement whose call is a `fit` with arguments."""
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and \
        _method_name(statement.value) == "fit" and bool(statement.value.args or statement.value.keywords)


def module_level_training(tree: ast.Module) -> list[ast.stmt]:
    """The top-level statements of a module that train (a training loop, a trainer's fit, a call of the module's
    own function or method that trains) and those after them that read what only the training bound (`print(loss)`,
    `plt.plot(losses)`). Definitions (which only define) and a main guard (which does not run on import) are never
    among them."""
    functions, methods = _training_functions(tree)
    found: list[ast.stmt] = []
    from_training: set[str] = set()   # names whose last binding so far was in the training
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)) \
                or is_main_guard(statement):
            from_training -= _stored(statement)
        elif trains(statement) or _is_trainer_fit(statement) or _calls_training(statement, functions, methods) \
                or _loaded(statement) & from_training:
            found.append(statement)
            from_training |= _stored(statement)
        else:
            from_training -= _stored(statement)
    return found


def _stored(statement: ast.stmt) -> set[str]:
    names = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(statement.name)
    return names


def _loaded(statement: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}

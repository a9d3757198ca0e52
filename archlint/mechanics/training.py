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


class _TrainingCode:
    """The module's top-level functions and its classes' methods that train, directly or through another of them
    (`main()` calling `train(epoch)`, `solver.train()` calling `self.step()`, whose loop calls backward). A method
    is known by its receiver: `self` in its class, a name bound to an instance of the class (`solver = Solver()`),
    or the instance itself (`Solver().train()`); `config.update(...)` is never a trainer's `update`."""

    def __init__(self, tree: ast.Module) -> None:
        self.classes = {c.name: c for c in tree.body if isinstance(c, ast.ClassDef)}
        self.module_instances = self._instances(tree.body)
        functions = {s.name: s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
        methods = {(c.name, m.name): m for c in self.classes.values()
                   for m in c.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        self.functions = {name for name, f in functions.items() if trains(f)}
        self.methods = {key for key, m in methods.items() if trains(m)}
        changed = True
        while changed:   # until nothing is added: a call chain of any depth
            changed = False
            for name, function in functions.items():
                if name not in self.functions and self.calls_training(function):
                    self.functions.add(name)
                    changed = True
            for (owner, name), method in methods.items():
                if (owner, name) not in self.methods and self.calls_training(method, owner):
                    self.methods.add((owner, name))
                    changed = True

    def _instances(self, statements: list[ast.stmt]) -> dict[str, str]:
        """Names bound to an instance of one of the module's classes: `solver = Solver(config)`."""
        return {target.id: statement.value.func.id for statement in statements if isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Call) and isinstance(statement.value.func, ast.Name)
                and statement.value.func.id in self.classes
                for target in statement.targets if isinstance(target, ast.Name)}

    def calls_training(self, node: ast.AST, owner: str | None = None) -> bool:
        local = [n for n in ast.walk(node) if isinstance(n, ast.stmt)]
        instances = {**self.module_instances, **self._instances(local), **({"self": owner} if owner else {})}
        for call in _calls(node):
            if isinstance(call.func, ast.Name) and call.func.id in self.functions:
                return True
            if isinstance(call.func, ast.Attribute) and (self._class_of(call.func.value, instances),
                                                         call.func.attr) in self.methods:
                return True
        return False

    def _class_of(self, receiver: ast.expr, instances: dict[str, str]) -> str | None:
        if isinstance(receiver, ast.Name):
            return instances.get(receiver.id)
        if isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name) and receiver.func.id in self.classes:
            return receiver.func.id
        return None


def _is_trainer_fit(statement: ast.stmt) -> bool:
    """`trainer.fit(model, data)`: an expression statement whose call is a `fit` with arguments."""
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and \
        _method_name(statement.value) == "fit" and bool(statement.value.args or statement.value.keywords)


def module_level_training(tree: ast.Module) -> list[ast.stmt]:
    """The top-level statements of a module that train (a training loop, a trainer's fit, a call of the module's
    own function or method that trains) and those after them that read what only the training bound (`print(loss)`,
    `plt.plot(losses)`). Definitions (which only define) and a main guard (which does not run on import) are never
    among them."""
    code = _TrainingCode(tree)
    found: list[ast.stmt] = []
    from_training: set[str] = set()   # names whose last binding so far was in the training
    variables: dict[str, set[str]] = {}   # names the module's own statements bound, with the names each read
    trained: set[str] = set()             # variables the training read: the model it trained, its optimizer
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)) \
                or is_main_guard(statement):
            from_training -= _stored(statement)
            for name in _stored(statement):
                variables.pop(name, None)
        elif trains(statement) or _is_trainer_fit(statement) or code.calls_training(statement) \
                or _loaded(statement) & from_training or _uses_what_was_trained(statement, trained):
            found.append(statement)
            from_training |= _stored(statement)
            trained = _with_what_derives_from(trained | (_loaded(statement) & variables.keys()), variables)
        else:
            from_training -= _stored(statement)
            variables.update({name: _loaded(statement) for name in _stored(statement)})
    return found


def _with_what_derives_from(names: set[str], variables: dict[str, set[str]]) -> set[str]:
    """The names, and the variables bound from them (`m = model.to(device)` is the trained model too)."""
    found = set(names)
    while True:
        more = {name for name, read in variables.items() if read & found} - found
        if not more:
            return found
        found |= more


def _uses_what_was_trained(statement: ast.stmt, trained: set[str]) -> bool:
    """A statement after the training that binds nothing and uses what it trained (`print(decode(m.generate(
    context, 500)))`, `evaluate(model)`): the trained model's use, which building it does not need."""
    return isinstance(statement, ast.Expr) and bool(_loaded(statement) & trained)


def _stored(statement: ast.stmt) -> set[str]:
    names = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names.add(statement.name)
    return names


def _loaded(statement: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}

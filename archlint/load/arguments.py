"""Constructor arguments from the user's own code, found without running it.

A class that needs arguments (`ResNet(block, num_blocks)`, `UNet(n_channels, n_classes)`) is built the way
the user's code builds it: the first call of it whose arguments can be evaluated statically, searched in
the file itself, then the other .py files of its folder (and of the folder above when the folder is a
package: train.py next to the package), then the fenced python blocks of a README beside them.
Arguments evaluate when they are literals, containers of literals, module-level constants of the file
that makes the call, `args.name` of an argparse flag with a default, names of the target module (classes
like `BasicBlock`), a config class called with no arguments (`GPTConfig()`), or a name bound to a call of a
model class of the user's package (`v = ViT(...)` then `MAE(encoder=v)`: the inner model is built with the
outer one). A required parameter
that no call gives but whose annotation is such a config class (or that is named `config` beside the
file's only config class) is built with its defaults.
"""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from torch import nn

from archlint.mechanics.source import display_path, notebook_source, source_position


class Unresolved(Exception):
    """An argument that would need code to run."""


@dataclass(frozen=True)
class ModelCall:
    """A model the user's code builds to hand to another (`v = ViT(...)` then `MAE(encoder=v)`), built when the
    outer model is: planning which models to lint never runs a constructor."""

    cls: type
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    def build(self) -> Any:
        return self.cls(*materialized(self.args), **materialized(self.kwargs))

    def __repr__(self) -> str:
        return f"{self.cls.__name__}(...)"


def materialized(value: Any) -> Any:
    """`value` with every ModelCall in it (at any depth of tuples, lists and dicts) built."""
    if isinstance(value, ModelCall):
        return value.build()
    if isinstance(value, (list, tuple)):
        return type(value)(materialized(v) for v in value)
    if isinstance(value, dict):
        return {k: materialized(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class FoundCall:
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    where: str          # "train.py:80"


def _readme_code(path: Path) -> str:
    text = path.read_text(encoding="utf-8", errors="replace")
    blocks = re.findall(r"```(?:python|py)\s*\n(.*?)```", text, re.S)
    return "\n\n".join(blocks)


def _sources(file: Path) -> Iterator[tuple[Path, str]]:
    """The file, its folder's other .py files, the folder above when this one is a package, then READMEs."""
    folders = [file.parent]
    if (file.parent / "__init__.py").exists():
        folders.append(file.parent.parent)
    seen = set()
    for path in [file] + [p for folder in folders for p in sorted(folder.glob("*.py"))]:
        if path not in seen:
            seen.add(path)
            yield path, notebook_source(str(path))[0] if path.suffix == ".ipynb" else \
                path.read_text(encoding="utf-8", errors="replace")
    for folder in folders:
        for readme in sorted(folder.glob("README*")):
            if readme.suffix.lower() in (".md", ".rst", ""):
                yield readme, _readme_code(readme)


def _where(path: Path, line: int) -> str:
    """How a report names a place in the user's code: file:line, or the README whose example it is."""
    if path.suffix in (".py", ".ipynb"):
        return source_position(str(path), line)
    return f"a python example in {display_path(str(path))}"


_TENSOR_MAKERS = {"randn", "rand", "zeros", "ones", "empty", "randint"}


def shapes_in_source(source: str) -> list[tuple[tuple[int, ...], int]]:
    """(shape, line) of every `torch.randn(1, 3, 32, 32)`-like call with literal sizes, in source order: the
    inputs the user's own code feeds its models (test functions, `__main__` blocks)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _TENSOR_MAKERS):
            continue
        args = node.args[2:] if node.func.attr == "randint" else node.args   # randint(low, high, size)
        if node.func.attr == "randint" and len(node.args) == 2:
            args = node.args[1:]
        if len(args) == 1 and isinstance(args[0], (ast.Tuple, ast.List)):
            args = args[0].elts
        try:
            shape = tuple(ast.literal_eval(a) for a in args)
        except ValueError:
            continue
        if len(shape) >= 2 and all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
            found.append((shape, node.lineno))
    return sorted(found, key=lambda item: item[1])


def fed_shapes(file: Path, limit: int = 20) -> list[tuple[tuple[int, ...], str]]:
    """Shapes of the tensors the user's code beside `file` makes (`torch.randn(4, 3, 256)` in a README example
    or a sibling script), with where: candidate inputs for a model whose first-layer guess does not run."""
    found: list[tuple[tuple[int, ...], str]] = []
    # the model's own file, then its README examples (written for this model), then the sibling files
    ordered = sorted(_sources(file), key=lambda item: 0 if item[0] == file else 1 if item[0].suffix == ".md" else 2)
    for path, source in ordered:
        for shape, line in shapes_in_source(source):
            if all(shape != seen for seen, _ in found):
                found.append((shape, _where(path, line)))
            if len(found) >= limit:
                return found
    return found


def _literal_constants(tree: ast.Module) -> dict[str, Any]:
    constants: dict[str, Any] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                isinstance(statement.targets[0], ast.Name):
            try:
                constants[statement.targets[0].id] = ast.literal_eval(statement.value)
            except (ValueError, SyntaxError, TypeError):
                pass
    return constants


def _argparse_defaults(tree: ast.Module) -> dict[str, Any]:
    """dest -> default of every `add_argument('--flag', default=...)` (store_true flags default to False)."""
    defaults: dict[str, Any] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add_argument"):
            continue
        flags = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        long = next((f for f in flags if f.startswith("--")), flags[0] if flags else None)
        if long is None:
            continue
        dest = keywords["dest"].value if isinstance(keywords.get("dest"), ast.Constant) else \
            long.lstrip("-").replace("-", "_")
        if "default" in keywords:
            try:
                defaults[dest] = ast.literal_eval(keywords["default"])
            except (ValueError, SyntaxError, TypeError):
                pass
        elif isinstance(keywords.get("action"), ast.Constant) and keywords["action"].value in ("store_true", "store_false"):
            defaults[dest] = keywords["action"].value == "store_false"
    return defaults


def is_config_class(obj: Any) -> bool:
    """A class built for configuration that constructs with no arguments (a dataclass, a *Config)."""
    if not isinstance(obj, type):
        return False
    if not (dataclasses.is_dataclass(obj) or obj.__name__.endswith(("Config", "Cfg", "Args", "Options"))):
        return False
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in signature.parameters.values())


def _bindings(tree: ast.Module) -> dict[str, list[tuple[int, ast.expr]]]:
    """name -> (line, value) of every simple `name = value` in the source, any scope, in line order."""
    found: dict[str, list[tuple[int, ast.expr]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found.setdefault(node.targets[0].id, []).append((node.lineno, node.value))
    for values in found.values():
        values.sort(key=lambda item: item[0])
    return found


def _package_imports(tree: ast.Module, package: str) -> dict[str, tuple[str, str]]:
    """name -> (module, attribute) of every `from package... import X [as Y]` in the source: the user's own
    package, the only one whose classes an argument may be built from."""
    found: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level \
                and node.module.split(".")[0] == package:
            for alias in node.names:
                found[alias.asname or alias.name] = (node.module, alias.name)
    return found


class _Evaluator:
    def __init__(self, tree: ast.Module, namespace: dict[str, Any]):
        self.constants = _literal_constants(tree)
        self.flags = _argparse_defaults(tree)
        self.bindings = _bindings(tree)
        self.namespace = namespace
        package = str(namespace.get("__name__") or "").split(".")[0]
        self.imports = _package_imports(tree, package) if package and package != "__main__" else {}
        self.depth = 0

    def _model_class(self, name: str) -> type | None:
        """An nn.Module class of the user's code by the name this source calls it."""
        found = self.namespace.get(name)
        if found is None and name in self.imports:
            module, attribute = self.imports[name]
            try:
                found = getattr(importlib.import_module(module), attribute, None)
            except Exception:   # the user's package failing to import is the target's own error, reported there
                return None
        return found if isinstance(found, type) and issubclass(found, nn.Module) else None

    def _model_call(self, node: ast.Call, line: int | None) -> ModelCall:
        """`ViT(image_size=256, ...)` bound to a name another call passes on: built later, with the outer model."""
        cls = self._model_class(node.func.id) if isinstance(node.func, ast.Name) else None
        if cls is None or self.depth > 4 or any(isinstance(a, ast.Starred) for a in node.args) \
                or any(k.arg is None for k in node.keywords):
            raise Unresolved(ast.unparse(node))
        args = tuple(self.value(a, line) for a in node.args)
        kwargs = {k.arg: self.value(k.value, line) for k in node.keywords if k.arg}
        try:
            inspect.signature(cls).bind(*args, **kwargs)
        except (TypeError, ValueError):
            raise Unresolved(ast.unparse(node)) from None
        return ModelCall(cls, args, kwargs)

    def value(self, node: ast.expr, line: int | None = None) -> Any:
        line = line if line is not None else getattr(node, "lineno", None)
        try:
            return ast.literal_eval(node)
        except (ValueError, SyntaxError, TypeError):
            pass
        if isinstance(node, ast.Name):
            if node.id in self.constants:
                return self.constants[node.id]
            bound = self._bound_before(node.id, line)
            if bound is not None:
                return bound
            if node.id in self.namespace and (inspect.isclass(self.namespace[node.id])
                                              or inspect.isfunction(self.namespace[node.id])):
                return self.namespace[node.id]
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.attr in self.flags \
                and node.value.id not in self.namespace:
            return self.flags[node.attr]          # args.classes, opt.n_classes
        if isinstance(node, ast.Call) and not node.args and not node.keywords and isinstance(node.func, ast.Name):
            made = self.namespace.get(node.func.id)
            if is_config_class(made):
                return made()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and self.depth > 0:
            return self._model_call(node, line)   # only as the value of a bound name: `v = ViT(...)`, `MAE(encoder=v)`
        if isinstance(node, (ast.List, ast.Tuple)):
            items = [self.value(e, line) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.FloorDiv, ast.Add, ast.Sub, ast.Pow)):
            left, right = self.value(node.left, line), self.value(node.right, line)
            if isinstance(left, int) and isinstance(right, int):
                return {ast.Mult: left * right, ast.FloorDiv: left // right if right else 0, ast.Add: left + right,
                        ast.Sub: left - right, ast.Pow: left ** right if right < 8 else 0}[type(node.op)]
        raise Unresolved(ast.unparse(node))

    def _bound_before(self, name: str, line: int | None) -> Any:
        """The value of the last `name = ...` before `line` (`input_shape = (opt.channels, opt.img_size, ...)`),
        when it evaluates statically; a few levels deep at most."""
        if self.depth > 4:
            return None
        candidates = [v for at, v in self.bindings.get(name, []) if line is None or at < line]
        if not candidates:
            return None
        self.depth += 1
        try:
            return self.value(candidates[-1])
        except Unresolved:
            return None
        finally:
            self.depth -= 1


def _calls_of(tree: ast.Module, name: str) -> Iterator[ast.Call]:
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and (
        (isinstance(n.func, ast.Name) and n.func.id == name) or
        (isinstance(n.func, ast.Attribute) and n.func.attr == name))]
    yield from sorted(calls, key=lambda c: c.lineno)


def find_call(cls: type, file: Path, namespace: dict[str, Any]) -> FoundCall | None:
    """The first call of `cls` in the user's code whose arguments evaluate statically, or None."""
    signature = inspect.signature(cls)
    for path, source in _sources(file):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        if path != file and any(isinstance(n, ast.ClassDef) and n.name == cls.__name__ for n in ast.walk(tree)):
            continue   # that file's own class of the same name (variants of a model side by side)
        evaluator = _Evaluator(tree, namespace)
        for call in _calls_of(tree, cls.__name__):
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                continue
            try:
                args = tuple(evaluator.value(a) for a in call.args)
                kwargs = {k.arg: evaluator.value(k.value) for k in call.keywords}
            except Unresolved:
                continue
            try:
                signature.bind(*args, **kwargs)    # every required parameter given, none it does not take
            except TypeError:
                continue
            return FoundCall(args, kwargs, _where(path, call.lineno))
    return None


def _required(cls: type) -> list[str]:
    """Parameters without a default (the ones a found call must give)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


def config_defaults(cls: type, namespace: dict[str, Any]) -> dict[str, Any] | None:
    """Required parameters whose annotation is a config class, each built with its defaults; None unless that
    covers every required parameter."""
    try:
        hints = {**getattr(cls.__init__, "__annotations__", {})}
    except AttributeError:
        return None
    module_name = getattr(cls, "__module__", None)
    own_configs = [v for v in namespace.values()
                   if is_config_class(v) and getattr(v, "__module__", None) == module_name]
    built = {}
    for name in _required(cls):
        hint = hints.get(name)
        made = namespace.get(hint) if isinstance(hint, str) else hint
        if made is None and name in ("config", "cfg", "conf") and len(own_configs) == 1:
            made = own_configs[0]    # `def __init__(self, config)` beside the file's one config class
        if not is_config_class(made):
            return None
        built[name] = made()
    return built or None


__all__ = ["FoundCall", "ModelCall", "config_defaults", "fed_shapes", "find_call", "is_config_class", "materialized"]

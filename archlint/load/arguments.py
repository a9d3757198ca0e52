"""What the user's code says without running it: the tensor shapes it makes (candidate inputs) and the defaults of
config classes (`GPTConfig()`) a required parameter is annotated with."""
from __future__ import annotations

import ast
import dataclasses
import inspect
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from archlint.load.repository import documents_mentioning
from archlint.load.slicing import called_name, syntax_tree
from archlint.mechanics.source import display_path, notebook_source, source_position


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


def _required(cls: type) -> list[str]:
    """Parameters without a default (the ones a found call must give)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


@dataclass(frozen=True)
class BuiltConfig:
    """A config object built for a required parameter, and how it was built (`MambaConfig()`, or with the values
    a call of the repository writes: `MambaConfig(d_model=16, n_layers=2), as README.md:58 writes it`)."""

    value: Any
    said: str


def config_defaults(cls: type, namespace: dict[str, Any], file: Path | None = None) -> dict[str, BuiltConfig] | None:
    """Required parameters whose annotation is a config class, each built with its defaults, or, when the class
    has required fields, with the literal values the repository's nearest call of a class of that name gives them
    (a README's `config = MambaConfig(d_model=16, n_layers=2)`); None unless that covers every required
    parameter."""
    try:
        hints = {**getattr(cls.__init__, "__annotations__", {})}
    except AttributeError:
        return None
    module_name = getattr(cls, "__module__", None)
    own_configs = [v for v in namespace.values()
                   if _is_config_type(v) and getattr(v, "__module__", None) == module_name]
    built = {}
    for name in _required(cls):
        hint = hints.get(name)
        made = namespace.get(hint) if isinstance(hint, str) else hint
        if made is None and name in ("config", "cfg", "conf") and len(own_configs) == 1:
            made = own_configs[0]    # `def __init__(self, config)` beside the file's one config class
        if is_config_class(made):
            built[name] = BuiltConfig(made(), f"{made.__name__}()")
            continue
        written = _written_config(made, file) if _is_config_type(made) and file is not None else None
        if written is None:
            return None
        built[name] = written
    return built or None


def _is_config_type(obj: Any) -> bool:
    return isinstance(obj, type) and (dataclasses.is_dataclass(obj) or
                                      obj.__name__.endswith(("Config", "Cfg", "Args", "Options")))


MOST_CONFIG_DOCUMENTS = 40   # the repository's documents nearest the model read for a call of its config class


def _written_config(cls: type, file: Path) -> BuiltConfig | None:
    """The config class built with the literal arguments of the nearest call of a class of its name in the
    repository (its own, or a namesake's the README builds: the values its authors write for it)."""
    name = cls.__name__
    for document in itertools.islice(documents_mentioning(file, frozenset({name})), MOST_CONFIG_DOCUMENTS):
        tree = syntax_tree(document)
        calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call) and called_name(n) == name),
                       key=lambda n: n.lineno) if tree is not None else []
        for call in calls:
            try:
                args = [ast.literal_eval(a) for a in call.args]
                kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg is not None}
                if len(kwargs) < len(call.keywords):
                    continue   # `**options`: not all written there
                inspect.signature(cls).bind(*args, **kwargs)
                value = cls(*args, **kwargs)
            except Exception:   # not literals, not this class's fields, or refused by the class itself
                continue
            shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            return BuiltConfig(value, f"{name}({shown}), as {display_path(str(document.path))}:{call.lineno} "
                                      f"writes it")
    return None


__all__ = ["BuiltConfig", "config_defaults", "fed_shapes", "is_config_class", "shapes_in_source"]

"""Targets to models: files, directories and `module:attr` strings become built models with example inputs.

A TARGET is a `.py` file, a directory (searched recursively), `package.module:attr` or
`path/file.py:attr`, where attr names an nn.Module instance, an nn.Module subclass or a factory.

Linting a file executes it: it is imported exactly once per target, under a unique module name,
while construction sites are recorded (so findings point at the line that built each layer). Its
folder is put on sys.path only while it is imported and its models are built; afterwards sys.path
is restored and every module imported from the user's folders is removed from sys.modules, so the
next target starts clean. Third-party libraries imported along the way stay loaded (re-importing a
compiled extension such as torchvision's can fail).

In a file, the models are: module-level nn.Module instances, nn.Module subclasses defined in the
file, and factory functions defined in the file that are annotated to return an nn.Module or named
like a model factory (`build_*`, `make_*`, `create_*`, `*_model`, `get_model`). A class or function
that another model of the file uses (a block inside a network, the class a factory returns) is a
part, not a separate model. Models that need constructor arguments are skipped with a note.

Everything that goes wrong becomes one `TargetError` line naming the file or model and the cause.
A `ModelSpec` is small and picklable, so a worker process can load one target with `iter_models`.
"""
from __future__ import annotations

import argparse
import ast
import builtins
import contextlib
import hashlib
import importlib
import importlib.util
import inspect
import io
import linecache
import os
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn

from archlint.load.arguments import config_defaults, fed_shapes, find_call, materialized
from archlint.load.construction import recording_sites
from archlint.load.device import DEFAULT_META_ABOVE, is_meta_model
from archlint.load.inputs import (
    InputInferenceError,
    as_input_tuple,
    fed_input,
    infer_inputs,
    inputs_from_shape,
    inputs_from_source,
    parse_dtype,
)
from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.errors import first_line, user_error_text
from archlint.mechanics.frames import ENGINE_DIR, user_frame_suffix
from archlint.mechanics.profile import phase
from archlint.mechanics.source import display_path, notebook_source
from archlint.plugin.results import ErrorKind, Note, NoteKind, TargetCause, TargetError

FACTORY_NAME = re.compile(r"^(build_\w+|make_\w+|create_\w+|\w+_model|get_model)$")
SKIPPED_DIRS = {"__pycache__", "site-packages", "dist-packages", "node_modules", "venv", "env"}
# Never models, and executing them has side effects (setup.py runs setuptools).
SKIPPED_FILES = {"setup.py", "conftest.py", "__main__.py"}
SOURCE_SUFFIXES = (".py", ".ipynb")     # notebooks are linted as their code cells, in order


class LoadError(Exception):
    """A target or model that cannot be loaded; the message is one line naming the cause, `cause` its kind."""

    def __init__(self, message: str, cause: TargetCause = TargetCause.NOT_BUILT):
        super().__init__(message)
        self.cause = cause

    def target_error(self, target: str) -> TargetError:
        return TargetError(target, str(self), ErrorKind.LOAD, self.cause)


@dataclass(frozen=True)
class ModelEntry:
    """Settings for one model (a `models` entry): matched to loaded models by target."""

    target: str
    input_shapes: tuple[tuple[int, ...], ...] = ()
    dtype: str | None = None
    kwargs: tuple[tuple[str, Any], ...] = ()   # a tuple so the entry stays hashable and picklable
    name: str | None = None
    ignore: tuple[str, ...] = ()
    base_dir: str = "."                          # relative file targets are relative to the config file


@dataclass(frozen=True)
class ModelSpec:
    """One target to load: a file or module, optionally one attribute of it. Picklable."""

    target: str                        # a .py path or a dotted module name
    attr: str | None = None            # one model in it; None: discover all
    exclude: tuple[str, ...] = ()      # attributes linted through their own spec
    from_directory: bool = False       # found by a directory scan: a file without models is not an error

    @property
    def is_module(self) -> bool:
        return not self.target.endswith(SOURCE_SUFFIXES)

    def __str__(self) -> str:
        return f"{self.target}:{self.attr}" if self.attr else self.target


@dataclass(frozen=True)
class LoadOptions:
    """How models are built and fed: CLI input shapes, config entries, device. Picklable."""

    input_shapes: tuple[tuple[int, ...], ...] = ()
    dtype: str | None = None
    entries: tuple[ModelEntry, ...] = ()
    device: str = "cpu"
    meta_above: int = DEFAULT_META_ABOVE


@dataclass
class LoadedModel:
    name: str
    target: str                        # re-lintable target string: file.py:attr or module:attr
    model: nn.Module
    example_inputs: tuple[Any, ...]
    notes: list[Note] = field(default_factory=list)
    file: str | None = None
    ignore: tuple[str, ...] = ()       # per-model ignores from the config entry
    inputs_guessed: bool = False       # inferred from the first layer: another size may be tried

    def fed_shapes(self) -> list[tuple[tuple[int, ...], str]]:
        """Shapes the user's code beside the model's file makes, and where: alternatives for a guessed input.
        Read on demand, only when the guess does not run (parsing a package's files took 0.2-0.35 s)."""
        if not self.inputs_guessed or not self.file or not self.file.endswith(SOURCE_SUFFIXES):
            return []
        return fed_shapes(Path(self.file))


# -- targets -------------------------------------------------------------------------------------------------

def split_target(target: str) -> tuple[str, str | None]:
    """`path/file.py:Net` -> ("path/file.py", "Net"); a Windows drive colon is not an attribute."""
    head, colon, attr = target.rpartition(":")
    if colon and head and re.fullmatch(r"[A-Za-z_][\w.]*", attr) and not re.fullmatch(r"[A-Za-z]", head):
        return head, attr
    return target, None


def _python_files(directory: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                         and not (Path(root) / d / "pyvenv.cfg").exists())
        found.extend(Path(root) / f for f in sorted(files)
                     if f.endswith(SOURCE_SUFFIXES) and not f.startswith(".") and f not in SKIPPED_FILES
                     and ".ipynb_checkpoints" not in root)
    return found


def expand_targets(targets: Sequence[str]) -> tuple[list[ModelSpec], list[TargetError]]:
    """Targets as typed -> specs (directories become their .py files) and errors for missing ones."""
    specs: list[ModelSpec] = []
    errors: list[TargetError] = []
    for target in targets:
        where, attr = split_target(target)
        path = Path(where)
        if attr is None and path.is_dir():
            files = _python_files(path)
            if not files:
                errors.append(TargetError(target, "no .py files in this directory", ErrorKind.LOAD, TargetCause.NO_SUCH_TARGET))
            specs.extend(ModelSpec(str(f), from_directory=True) for f in files)
        elif path.suffix in SOURCE_SUFFIXES or path.exists():
            if not path.is_file():
                errors.append(TargetError(target, "no such file or directory", ErrorKind.LOAD, TargetCause.NO_SUCH_TARGET))
            elif path.suffix not in SOURCE_SUFFIXES:
                errors.append(TargetError(target, "not a Python file (expected .py, .ipynb, a directory or "
                                                  "module:attr)", ErrorKind.LOAD, TargetCause.NO_SUCH_TARGET))
            else:
                specs.append(ModelSpec(str(path), attr))
        elif attr is not None and re.fullmatch(r"[A-Za-z_][\w.]*", where):
            specs.append(ModelSpec(where, attr))
        else:
            errors.append(TargetError(target, "no such file or directory (a module needs an attribute: "
                                              "package.module:Name)", ErrorKind.LOAD, TargetCause.NO_SUCH_TARGET))
    return _without_duplicates(specs), errors


def _without_duplicates(specs: list[ModelSpec]) -> list[ModelSpec]:
    """Same file twice -> once; a file scanned whole skips the attributes that have their own spec."""
    unique: list[ModelSpec] = []
    for spec in specs:
        key = _spec_key(spec)
        if all(_spec_key(s) != key for s in unique):
            unique.append(spec)
    explicit: dict[str, list[str]] = {}
    for spec in unique:
        if spec.attr:
            explicit.setdefault(_spec_key(spec)[0], []).append(spec.attr.split(".")[0])
    return [ModelSpec(s.target, s.attr, tuple(explicit.get(_spec_key(s)[0], ())), s.from_directory)
            if s.attr is None else s for s in unique]


def _spec_key(spec: ModelSpec) -> tuple[str, str | None]:
    return (spec.target if spec.is_module else os.path.realpath(spec.target), spec.attr)


# -- importing user code -------------------------------------------------------------------------------------

def _is_user_module(module: Any, user_dirs: Sequence[str]) -> bool:
    file = getattr(module, "__file__", None)
    if not file:
        return False
    file = os.path.realpath(file)
    if file.startswith(ENGINE_DIR) or "site-packages" in file or "dist-packages" in file:
        return False
    return any(file.startswith(d.rstrip(os.sep) + os.sep) for d in user_dirs)


@contextlib.contextmanager
def user_code_scope(user_dirs: Sequence[str], own_modules: Sequence[str] = ()) -> Iterator[None]:
    """`user_dirs` on sys.path inside the block; afterwards sys.path as before and user modules gone."""
    saved_path = list(sys.path)
    before = set(sys.modules)
    real_dirs = [os.path.realpath(d) for d in user_dirs]
    for directory in reversed(user_dirs):
        sys.path.insert(0, directory)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            module = sys.modules.get(name)
            if name in own_modules or _is_user_module(module, real_dirs):
                del sys.modules[name]


def constructor_error_message(cls: type, exc: BaseException) -> str:
    """One line saying why `cls()` failed: missing arguments, no CUDA device here, or what it raised."""
    try:
        required = [p.name for p in inspect.signature(cls).parameters.values()
                    if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    except (TypeError, ValueError):
        required = []
    message = first_line(exc)
    if isinstance(exc, TypeError) and required:
        args = ", ".join(f"{r}=..." for r in required)
        return (f"constructor needs arguments ({', '.join(required)}); pass an instance, "
                f"e.g. {cls.__name__}({args})")
    if not torch.cuda.is_available() and Cause.CUDA_ONLY in causes(exc):
        return (f"constructor needs a CUDA device and none is available here ({type(exc).__name__}: {message})"
                f"{user_frame_suffix(exc)}; build it on the CPU to lint it")
    if isinstance(exc, KeyError) and exc.args and _takes_var_keywords(cls):
        return (f"constructor raised {user_error_text(exc)}: it reads {exc.args[0]!r} from **kwargs and none was "
                f"given; give it as kwargs in a models entry of the config, or pass an instance")
    return f"constructor raised {user_error_text(exc)}"


def _takes_var_keywords(cls: type) -> bool:
    try:
        return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return False



def import_error_cause(exc: BaseException) -> TargetCause:
    """The kind of import failure, for the summary and the reach benchmark."""
    if isinstance(exc, ModuleNotFoundError) and exc.name and "." not in exc.name:
        return TargetCause.MISSING_PACKAGE
    if isinstance(exc, SystemExit):
        return TargetCause.EXITED_AT_IMPORT
    return TargetCause.IMPORT_FAILED


def import_error_message(exc: BaseException, stderr: str = "") -> str:
    """One line for a file that cannot be imported (`stderr`: what the file printed there while importing)."""
    if isinstance(exc, SyntaxError):
        where = f"{display_path(exc.filename)}:{exc.lineno}" if exc.filename else f"line {exc.lineno}"
        return f"SyntaxError: {exc.msg} at {where}"
    if isinstance(exc, ModuleNotFoundError) and exc.name and "." not in exc.name:
        return (f"cannot import: the file needs the package {exc.name!r}, which is not installed here"
                f"{user_frame_suffix(exc)}; install it (pip install {exc.name}) to lint this file")
    if Cause.NO_PARENT_PACKAGE in causes(exc):
        return (f"cannot import: {type(exc).__name__}: {first_line(exc)}{user_frame_suffix(exc)}: the file imports "
                "relatively (from .x import ...) but its folder has no __init__.py, so it is not part of a package; "
                "add __init__.py to the folder")
    if isinstance(exc, ImportError):
        return f"cannot import: {type(exc).__name__}: {first_line(exc)}{user_frame_suffix(exc)}"
    if isinstance(exc, SystemExit):
        said = [line for line in stderr.splitlines() if ": error: " in line]
        if said:   # argparse: a flag the script requires (archlint runs it with no arguments)
            reason = said[-1].split(": error: ", 1)[1]
            # a required flag is named with its dashes; a required positional argument is not
            what = "the flag a default" if " -" in reason else "the argument a default (nargs='?', default=...)"
            return (f"the file parses its command line at import and stopped: {reason}{user_frame_suffix(exc)}; "
                    f"give {what}, or move the parsing under `if __name__ == \"__main__\":`")
        return f"the file called sys.exit({exc.code!r}) while being imported{user_frame_suffix(exc)}"
    return f"importing the file raised {user_error_text(exc)}"


def _package_root(path: Path) -> Path | None:
    """The top folder of the package `path` belongs to (folders with __init__.py), or None."""
    root = None
    folder = path.parent
    while (folder / "__init__.py").is_file():
        root = folder
        folder = folder.parent
    return root


def _module_name_for(path: Path) -> tuple[str, str, bool]:
    """(module name, folder to put on sys.path, is a package module)."""
    root = _package_root(path)
    if root is not None:
        parts = path.relative_to(root.parent).with_suffix("").parts
        return ".".join(parts), str(root.parent), True
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    stem = re.sub(r"\W", "_", path.stem)
    return f"archlint_target_{stem}_{digest}", str(path.parent), False


def _exec_file(path: Path, name: str, as_package: bool) -> Any:
    if path.suffix == ".ipynb":
        return _exec_notebook(path, name)
    if as_package:
        return importlib.import_module(name)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError("cannot be imported as a Python module", TargetCause.IMPORT_FAILED)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module   # dataclasses and pickling look the module up while it runs
    spec.loader.exec_module(module)
    return module


def _script_failure(exc: BaseException) -> bool:
    """A failure of a script's module-level work (a dataset download, a training loop, a missing file), as
    opposed to a file that cannot be Python (syntax), lacks a package, or exits on purpose."""
    return isinstance(exc, Exception) and not isinstance(exc, (SyntaxError, ImportError))


# Calls a definitions-only import still makes: building the command-line defaults and small values.
_SAFE_CALLS = {"ArgumentParser", "add_argument", "add_argument_group", "parse_args", "parse_known_args",
               "is_available", "device", "int", "float", "bool", "str", "tuple", "list", "dict", "len", "range",
               "prod", "sqrt", "join", "get", "getenv", "Namespace", "dataclass", "field"}


def _is_definition(statement: ast.stmt) -> bool:
    if isinstance(statement, (ast.Import, ast.ImportFrom, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return True
    if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.Expr)):
        calls = [n for n in ast.walk(statement) if isinstance(n, ast.Call)]
        names = [getattr(c.func, "attr", getattr(c.func, "id", "")) for c in calls]
        return all(n in _SAFE_CALLS for n in names) and not (isinstance(statement, ast.Expr) and not calls)
    return False


def _definitions_only(path: Path, name: str, exc: BaseException, message: str) -> Any | None:
    """The file re-run with only its imports, classes, functions and command-line defaults: a training script
    whose module-level code downloads data or trains still defines its models. None if that fails too."""
    if path.suffix != ".py":
        return None
    tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    ran = 0
    try:
        with _user_stdout(), recording_sites():
            for statement in (s for s in tree.body if _is_definition(s)):
                try:   # one statement at a time: a definition that fails (it needed the failed work) is left out
                    exec(compile(ast.Module([statement], type_ignores=[]), str(path), "exec"), module.__dict__)
                    ran += isinstance(statement, ast.ClassDef)
                except Exception:
                    continue
    except BaseException:   # it exits or is interrupted: the first failure is the one to report
        sys.modules.pop(name, None)
        return None
    if not ran:
        sys.modules.pop(name, None)
        return None
    module.__archlint_import_error__ = message
    module.__archlint_import_cause__ = import_error_cause(exc)
    module.__archlint_note__ = (f"the file's module-level code failed ({message}); linted from its definitions "
                                "only (imports, classes, functions, command-line defaults)")
    return module


def _exec_notebook(path: Path, name: str) -> Any:
    """A notebook's code cells run as one module; its source is registered with linecache under the notebook's
    path, so construction sites, tracebacks and `# archlint: ignore` comments work as in a .py file."""
    source, _ = notebook_source(str(path))
    linecache.cache[str(path)] = (len(source), None, source.splitlines(keepends=True), str(path))
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


def read_source(path: str) -> str:
    """The Python source of a target file (a notebook's code cells, joined)."""
    if path.endswith(".ipynb"):
        return notebook_source(path)[0]
    return Path(path).read_text(encoding="utf-8", errors="replace")


@contextlib.contextmanager
def imported(spec: ModelSpec) -> Iterator[Any]:
    """The spec's module, imported once with construction sites recorded; cleaned up on exit."""
    if spec.is_module:
        user_dirs, own, name, path, as_package = [os.getcwd()], [], spec.target, None, True
    else:
        path = Path(spec.target).resolve()
        name, folder, as_package = _module_name_for(path)
        user_dirs, own = [folder], [name]
    with user_code_scope(user_dirs, own), as_script(path or Path(name)):
        try:
            with kept_stderr() as stderr, _user_stdout(), recording_sites(), phase("import target"):
                module = _exec_file(path, name, as_package) if path else importlib.import_module(name)
        except LoadError:
            raise
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # the user's module-level code: anything can happen
            message = import_error_message(exc, stderr.getvalue())
            module = _definitions_only(path, name, exc, message) if path and _script_failure(exc) else None
            if module is None:
                raise LoadError(message, import_error_cause(exc)) from exc
        yield module


@contextlib.contextmanager
def as_script(path: Path) -> Iterator[None]:
    """While the user's file is imported and its models built, `sys.argv` is `[file]`, as if it were run with
    no arguments: a module-level `parser.parse_args()` sees its defaults, not archlint's own command line;
    and stdin is empty, so a prompt fails at once instead of waiting."""
    saved, saved_stdin, saved_input = sys.argv, sys.stdin, builtins.input
    sys.argv = [str(path)]
    # a prompt in the user's code gets end-of-file at once (and prints nothing): it never waits on a terminal
    sys.stdin = io.StringIO("")
    builtins.input = _no_terminal_input
    try:
        yield
    finally:
        sys.argv, sys.stdin, builtins.input = saved, saved_stdin, saved_input


def _no_terminal_input(prompt: object = "") -> str:
    raise EOFError("EOF when reading a line")


@contextlib.contextmanager
def kept_stderr() -> Iterator[io.StringIO]:
    """What the block prints to stderr, kept (argparse explains a missing flag there) and then passed on,
    unless the block exits the process: argparse's usage text is then said in one line by the caller."""
    saved, captured = sys.stderr, io.StringIO()
    sys.stderr = captured
    exited = False
    try:
        yield captured
    except SystemExit:
        exited = True
        raise
    finally:
        sys.stderr = saved
        if not exited:
            saved.write(captured.getvalue())


def _user_stdout() -> contextlib.AbstractContextManager[Any]:
    """User code that prints goes to stderr, so a report written to stdout (JSON) stays parseable."""
    return contextlib.redirect_stdout(sys.stderr)


# -- discovery ---------------------------------------------------------------------------------------------------

@dataclass
class Candidate:
    attr: str
    kind: str          # "instance" | "class" | "factory"
    obj: Any
    line: int = 0
    builds: type | None = None     # for a factory found from its body: the model class it returns
    note: str = ""                 # said in the report of this model (e.g. sibling factories not linted)
    args: tuple[Any, ...] = ()     # constructor arguments found in the user's code (load/arguments.py)
    kwargs: dict[str, Any] = field(default_factory=dict)


def _referenced_names(node: ast.AST) -> set[str]:
    names: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            names.add(child.id)
        elif isinstance(child, ast.Attribute):
            names.add(child.attr)
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
            if isinstance(statement, ast.If) and _is_main_guard(statement):
                continue
            for block in ("body", "orelse", "finalbody", "handlers"):
                pending.extend(getattr(statement, block, []) or [])
        elif isinstance(statement, ast.ExceptHandler):
            pending.extend(statement.body)


def _is_main_guard(statement: ast.If) -> bool:
    return "__main__" in ast.unparse(statement.test) and "__name__" in ast.unparse(statement.test)


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
    """Annotated to return an nn.Module, or named like a model factory and not annotated otherwise."""
    annotated = returns_module(func)
    if annotated is not None:
        return annotated
    return bool(FACTORY_NAME.match(func.__name__))


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
                candidates.append(Candidate(statement.name, "factory", obj, statement.lineno))
                defs[statement.name] = statement
            elif inspect.isfunction(obj) and _defined_here(obj, module) and not required_parameters(obj) \
                    and isinstance(statement, ast.FunctionDef):
                built = returned_model_class(statement, namespace)
                if built is not None:
                    candidates.append(Candidate(statement.name, "factory", obj, statement.lineno, builds=built))
                    defs[statement.name] = statement
        for name in _assigned_names(statement):
            obj = namespace.get(name)
            if isinstance(obj, nn.Module) and not name.startswith("_") and \
                    all(c.attr != name for c in candidates):
                candidates.append(Candidate(name, "instance", obj, statement.lineno))
                instance_statements.append(statement)
    return _one_factory_per_class(_top_level_models(candidates, defs, instance_statements), module)


def returned_model_class(func: ast.FunctionDef, namespace: dict[str, Any]) -> type | None:
    """The nn.Module class a function builds when its body only returns a call of it, e.g.
    `def ResNet18(): return ResNet(BasicBlock, [2, 2, 2, 2])`; literal assignments may come first
    (`cfg = [64, 'M']`). Anything else (training loops, data loading, prints) is not a factory: never called."""
    body = func.body[1:] if func.body and isinstance(func.body[0], ast.Expr) and \
        isinstance(getattr(func.body[0], "value", None), ast.Constant) else func.body
    if not body or not isinstance(body[-1], ast.Return) or not isinstance(body[-1].value, ast.Call):
        return None
    for statement in body[:-1]:
        if not isinstance(statement, ast.Assign) or any(isinstance(n, ast.Call) for n in ast.walk(statement.value)):
            return None
    called = _resolve(body[-1].value.func, namespace)
    return called if isinstance(called, type) and issubclass(called, nn.Module) else None


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """`Name` or `a.b.Name` looked up in a module namespace (no code runs), or None."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        return getattr(owner, node.attr, None) if owner is not None else None
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


def _top_level_models(candidates: list[Candidate], defs: dict[str, ast.AST],
                      instance_statements: list[ast.stmt]) -> list[Candidate]:
    """Drop parts: defs used by another model def or by a module-level instance, instances inside others."""
    used: set[str] = set()
    for name, node in defs.items():
        used |= _referenced_names(node) - {name}
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


# -- building ------------------------------------------------------------------------------------------------------

def build(factory: Callable[[], nn.Module], options: LoadOptions) -> tuple[nn.Module, str | None]:
    """Build a model on the requested device (the one place construction happens); returns (model, note)."""
    from archlint.load.device import build_model

    built = build_model(factory, options.device, options.meta_above)
    return built.model, built.note


def _resolve_attr(module: Any, attr: str, shown: str) -> Any:
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise LoadError(f"{shown} has no attribute {part!r}", TargetCause.NO_SUCH_TARGET)
        obj = getattr(obj, part)
    return obj


def _classify(obj: Any, attr: str) -> Candidate:
    if isinstance(obj, nn.Module):
        return Candidate(attr, "instance", obj)
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        return Candidate(attr, "class", obj)
    if callable(obj) and not isinstance(obj, type):
        return Candidate(attr, "factory", obj)
    raise LoadError(f"{attr} is a {type(obj).__name__}, not an nn.Module instance, an nn.Module class "
                    f"or a function that returns one", TargetCause.NO_MODEL)


def _construct(candidate: Candidate, kwargs: dict[str, Any], options: LoadOptions) -> tuple[nn.Module, str | None]:
    """Instantiate a class or call a factory; failures become a LoadError saying why."""
    if candidate.kind == "instance":
        return candidate.obj, None
    args, kwargs = candidate.args, {**candidate.kwargs, **kwargs}    # a models entry overrides what was found
    given = set(list(inspect.signature(candidate.obj).parameters)[:len(args)]) if args else set()
    missing = [p for p in required_parameters(candidate.obj) if p not in kwargs and p not in given]
    if missing:
        what = "constructor" if candidate.kind == "class" else f"{candidate.attr}()"
        raise LoadError(f"{what} needs arguments ({', '.join(missing)}); give them as kwargs in a models entry "
                        f"of the config, or pass an instance", TargetCause.NEEDS_ARGUMENTS)
    try:
        with _user_stdout(), phase("build"):
            model, note = build(lambda: candidate.obj(*materialized(args), **materialized(kwargs)), options)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        if candidate.kind == "class":
            raise LoadError(constructor_error_message(candidate.obj, exc)) from exc
        raise LoadError(f"calling {candidate.attr}() raised {user_error_text(exc)}") from exc
    if not isinstance(model, nn.Module):
        raise LoadError(f"{candidate.attr}() returned {type(model).__name__}, not an nn.Module")
    return model, note


# -- example inputs ------------------------------------------------------------------------------------------------

def _first_layer(model: nn.Module) -> nn.Module | None:
    return next((m for m in model.modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear, nn.Embedding,
                                                                nn.EmbeddingBag))), None)


def _inputs_dtype(model: nn.Module, dtype: str | None) -> torch.dtype:
    if dtype:
        return parse_dtype(dtype)
    if isinstance(_first_layer(model), (nn.Embedding, nn.EmbeddingBag)):
        return torch.long
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _call_example_inputs(function: Callable[[], Any], where: str) -> tuple[Any, ...]:
    try:
        with _user_stdout():
            value = function()
    except Exception as exc:
        raise LoadError(f"{where} raised {user_error_text(exc)}", TargetCause.INPUTS_FAILED) from exc
    try:
        inputs = as_input_tuple(value)
    except InputInferenceError:
        raise LoadError(f"{where} returned {type(value).__name__}; expected a tensor or a tuple of tensors",
                        TargetCause.INPUTS_FAILED) from None
    if not inputs:
        raise LoadError(f"{where} returned no inputs", TargetCause.INPUTS_FAILED)
    return inputs


def _class_example_inputs(model: nn.Module) -> Callable[[], Any] | None:
    """An `example_inputs` attribute defined on the model's own class (classmethod or staticmethod)."""
    for cls in type(model).__mro__:
        if cls.__module__.startswith("torch."):
            return None
        if "example_inputs" in vars(cls):
            return getattr(model, "example_inputs")
    return None


def example_inputs_for(model: nn.Module, module: Any, entry: ModelEntry | None, options: LoadOptions,
                       arguments: dict[str, Any] | None = None) -> tuple[tuple[Any, ...], str | None]:
    """--input-shape, then the config entry, then example_inputs() on the class or in the file, else inferred."""
    shapes = options.input_shapes or (entry.input_shapes if entry else ())
    device = "meta" if is_meta_model(model) else "cpu"
    if shapes:
        dtype = _inputs_dtype(model, options.dtype or (entry.dtype if entry else None))
        return inputs_from_shape(list(shapes), dtype, device), None
    own = _class_example_inputs(model)
    if own is not None:
        return _call_example_inputs(own, f"{type(model).__name__}.example_inputs()"), None
    in_file = getattr(module, "example_inputs", None)
    if inspect.isfunction(in_file) and not required_parameters(in_file):
        return _call_example_inputs(in_file, "example_inputs()"), None
    file = getattr(module, "__file__", None)
    if file and file.endswith(SOURCE_SUFFIXES):
        from_source = inputs_from_source(model, read_source(file), file, device)
        if from_source is not None:
            return from_source
    # a script's command-line defaults (`opt.img_size`) say what image it is for, like constructor arguments do
    flags = {k: v for value in vars(module).values() if isinstance(value, argparse.Namespace)
             for k, v in vars(value).items()}
    try:
        return infer_inputs(model, device, {**(arguments or {}), **dict(entry.kwargs if entry else ())}, flags)
    except InputInferenceError as exc:
        # no layer to infer from (a model of functional ops): the first shape the user's code makes is the guess,
        # checked like any guess before the lint (the session tries the others)
        fed = fed_shapes(Path(file)) if file and file.endswith(SOURCE_SUFFIXES) else []
        if not fed:
            raise LoadError(str(exc), TargetCause.NO_INPUT_FITS) from None
        return fed_input(model, *fed[0], device, "the model has no Conv/Linear/Embedding layer to infer one from")


# -- config entries ------------------------------------------------------------------------------------------------

def entry_for(entries: Sequence[ModelEntry], file: str | None, module_name: str, attr: str) -> ModelEntry | None:
    """The config entry naming this model: an exact `file:attr` entry, else one naming the whole file."""
    whole_file = None
    for entry in entries:
        where, entry_attr = split_target(entry.target)
        if where.endswith(".py"):
            path = where if os.path.isabs(where) else os.path.join(entry.base_dir, where)
            same = file is not None and os.path.realpath(path) == os.path.realpath(file)
        else:
            same = where == module_name
        if same and entry_attr == attr:
            return entry
        if same and entry_attr is None and whole_file is None:
            whole_file = entry
    return whole_file


# -- loading -------------------------------------------------------------------------------------------------------

def _load_candidate(candidate: Candidate, spec: ModelSpec, module: Any, options: LoadOptions) -> LoadedModel:
    target = f"{spec.target}:{candidate.attr}"
    file = getattr(module, "__file__", None)
    entry = entry_for(options.entries, None if spec.is_module else spec.target, spec.target, candidate.attr)
    model, note = _construct(candidate, dict(entry.kwargs) if entry else {}, options)
    inputs, inferred = example_inputs_for(model, module, entry, options, _named_arguments(candidate))
    notes = [Note(kind, text) for kind, text in ((NoteKind.BUILD, getattr(module, "__archlint_note__", None)),
                                                 (NoteKind.BUILD, note), (NoteKind.BUILD, candidate.note),
                                                 (NoteKind.INPUT, inferred)) if text]
    return LoadedModel(name=_model_name(candidate, model, entry), target=target, model=model,
                       example_inputs=inputs, notes=notes, file=file,
                       ignore=entry.ignore if entry else (), inputs_guessed=inferred is not None)


def _named_arguments(candidate: Candidate) -> dict[str, Any]:
    """The constructor arguments found for the candidate, positional ones by parameter name."""
    if not candidate.args:
        return dict(candidate.kwargs)
    try:
        return dict(inspect.signature(candidate.obj).bind_partial(*candidate.args, **candidate.kwargs).arguments)
    except (TypeError, ValueError):
        return dict(candidate.kwargs)


def _model_name(candidate: Candidate, model: nn.Module, entry: ModelEntry | None) -> str:
    """The config's name; else the attribute; a factory (often just `build`) is named by the class it builds."""
    if entry and entry.name:
        return entry.name
    if candidate.builds is not None:
        return candidate.attr   # ResNet18, not ResNet: the factory says which variant
    if candidate.kind == "factory" and not type(model).__module__.startswith("torch."):
        return type(model).__name__
    return candidate.attr


@dataclass(frozen=True)
class SkippedCandidate:
    """A model of the file that needs constructor arguments nobody gave."""

    what: str      # `class Wide` or `factory build_wide`
    reason: str    # needs arguments (...); how to give them

    def note(self) -> Note:
        return Note(NoteKind.SKIPPED, f"skipped {self.what}: {self.reason}")

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


def _skipped(candidate: Candidate, spec: ModelSpec) -> SkippedCandidate:
    args = ", ".join(required_parameters(candidate.obj))
    kind = "class" if candidate.kind == "class" else "factory"
    return SkippedCandidate(f"{kind} {candidate.attr}", f"needs arguments ({args}); lint it with a models entry "
                                                        f"(target = \"{spec.target}:{candidate.attr}\", kwargs = {{...}})")


def iter_models(spec: ModelSpec, options: LoadOptions = LoadOptions()) -> Iterator[LoadedModel | TargetError]:
    """Load the spec's models one at a time (the file is imported once); failures are TargetErrors."""
    label = str(spec)
    try:
        with imported(spec) as module:
            if spec.attr:
                try:
                    candidate = _classify(_resolve_attr(module, spec.attr, spec.target), spec.attr)
                    yield _load_candidate(candidate, spec, module, options)
                except LoadError as exc:
                    yield exc.target_error(label)
                return
            yield from _discovered_models(spec, module, options)
    except LoadError as exc:
        yield exc.target_error(label)


@dataclass
class ModelPlan:
    """The models a spec's module defines: all candidates, those that can be built, those that need arguments."""

    candidates: list[Candidate]
    buildable: list[Candidate]
    skipped: list[SkippedCandidate]   # the candidates that need arguments nobody gave


def plan_models(spec: ModelSpec, module: Any, entries: Sequence[ModelEntry]) -> ModelPlan:
    """Discover the module's models and split them by whether they can be built with what is given."""
    source = read_source(spec.target) if not spec.is_module else inspect.getsource(module)
    candidates = [c for c in discover(module, source) if c.attr not in spec.exclude]
    plan = ModelPlan(candidates, [], [])
    for candidate in candidates:
        entry = entry_for(entries, None if spec.is_module else spec.target, spec.target, candidate.attr)
        given = dict(entry.kwargs) if entry else {}
        if candidate.kind != "instance" and any(p not in given for p in required_parameters(candidate.obj)):
            if candidate.kind == "class" and not given and _arguments_from_code(candidate, spec, module):
                plan.buildable.append(candidate)
            else:
                plan.skipped.append(_skipped(candidate, spec))
        else:
            plan.buildable.append(candidate)
    return plan


def _arguments_from_code(candidate: Candidate, spec: ModelSpec, module: Any) -> bool:
    """Fill the candidate's constructor arguments from a call in the user's code, or from config-class
    defaults; the note says where they came from."""
    namespace = vars(module)
    found = None if spec.is_module else find_call(candidate.obj, Path(spec.target).resolve(), namespace)
    if found is not None:
        candidate.args, candidate.kwargs = found.args, found.kwargs
        shown = ", ".join([*map(_short_repr, found.args), *(f"{k}={_short_repr(v)}" for k, v in found.kwargs.items())])
        candidate.note = f"built as in {found.where}: {candidate.attr}({shown})"
        return True
    defaults = config_defaults(candidate.obj, namespace)
    if defaults is not None:
        candidate.kwargs = defaults
        candidate.note = (f"built with default configs: {candidate.attr}("
                          + ", ".join(f"{k}={type(v).__name__}()" for k, v in defaults.items()) + ")")
        return True
    return False


def _short_repr(value: Any) -> str:
    text = value.__name__ if inspect.isclass(value) or inspect.isfunction(value) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _discovered_models(spec: ModelSpec, module: Any, options: LoadOptions) -> Iterator[LoadedModel | TargetError]:
    plan = plan_models(spec, module, options.entries)
    candidates, buildable, skipped = plan.candidates, plan.buildable, plan.skipped
    loaded_any = False
    for candidate in buildable:
        try:
            loaded = _load_candidate(candidate, spec, module, options)
        except LoadError as exc:
            failed_import = getattr(module, "__archlint_import_error__", None)
            # a model of a definitions-only module that does not build needed the failed module-level code
            yield TargetError(f"{spec.target}:{candidate.attr}", failed_import or str(exc), ErrorKind.LOAD,
                              getattr(module, "__archlint_import_cause__", None) if failed_import else exc.cause)
            continue
        if not loaded_any:
            loaded.notes.extend(s.note() for s in skipped)   # said once per file, on its first model
        loaded_any = True
        yield loaded
    # In a directory scan, a file of building blocks (or helpers) is not an error; a file whose models could not
    # be built is not an error either, but it is counted and said (never silent)
    if loaded_any or (not candidates and spec.exclude):
        return
    if spec.from_directory:
        if skipped:
            yield TargetError(str(spec), "; ".join(map(str, skipped)), ErrorKind.SKIPPED, TargetCause.NEEDS_ARGUMENTS)
        return
    if skipped:
        yield TargetError(str(spec), "no model could be built: " + "; ".join(map(str, skipped)), ErrorKind.LOAD,
                          TargetCause.NEEDS_ARGUMENTS)
    elif not candidates:
        yield TargetError(str(spec), "no model found: the file defines no nn.Module instance, nn.Module subclass "
                                     "or model factory (a function annotated -> nn.Module, or named build_*, "
                                     "make_*, create_*, *_model, get_model)", ErrorKind.LOAD, TargetCause.NO_MODEL)


def load_spec(spec: ModelSpec, options: LoadOptions = LoadOptions()) -> list[LoadedModel | TargetError]:
    """Every model of one spec, built (convenient for tests and small targets)."""
    return list(iter_models(spec, options))


__all__ = ["LoadError", "LoadOptions", "LoadedModel", "ModelEntry", "ModelPlan", "ModelSpec", "build", "discover",
           "entry_for", "plan_models",
           "example_inputs_for", "expand_targets", "iter_models", "load_spec", "split_target", "user_code_scope"]

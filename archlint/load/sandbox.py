"""The import sandbox: the user's file is executed once, as if run with no arguments, with its folder on sys.path
only while it is, construction sites recorded, and everything it imported from the user's folders removed afterwards
(so the next target starts clean). Third-party libraries imported along the way stay loaded.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import errno
import functools
import hashlib
import importlib
import importlib.util
import io
import linecache
import os
import re
import signal
import sys
import threading
import traceback
import types
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterator, NamedTuple, Sequence

from archlint.load.absent import AbsentPackages, missing_package, standing_in
from archlint.load.command_line import MOST_COMMAND_LINES, command_line, command_lines
from archlint.load.construction import recording_sites
from archlint.load.errors import LoadError, import_error_cause, import_error_message
from archlint.load.implicit_imports import implicit_imports_note, implicit_relative_imports
from archlint.mechanics.no_gpu import cuda_stays_on_cpu
from archlint.load.imports import module_files
from archlint.load.repository import Document, documents_mentioning, folder_holding, folders_up_to, repository_root
from archlint.load.targets import ModelSpec
from archlint.mechanics.errors import missing_relative_path
from archlint.mechanics.frames import ENGINE_DIR, is_user_file, user_frame_suffix
from archlint.mechanics.installed import installed_package
from archlint.mechanics.profile import phase
from archlint.mechanics.source import display_path, notebook_source, source_position
from archlint.mechanics.training import module_level_training
from archlint.plugin.results import TargetCause

# -- importing user code -------------------------------------------------------------------------------------

def _is_user_module(module: Any, user_dirs: Sequence[str]) -> bool:
    """A module loaded from the user's folders; a namespace package (a folder without __init__.py) has no file,
    only its folders."""
    file = getattr(module, "__file__", None)
    try:
        places = [file] if file else [os.path.join(p, "") for p in getattr(module, "__path__", None) or []]
    except (KeyError, TypeError):   # a namespace package whose parent is gone: not one of ours to remove
        return False
    return any(_in_user_dirs(os.path.realpath(place), user_dirs) for place in places)


def _is_users_file(file: str) -> bool:
    """A file of the folders of the code being linted (see user_code_scope)."""
    return _in_user_dirs(os.path.realpath(file), _users_folders)


def _in_user_dirs(file: str, user_dirs: Sequence[str]) -> bool:
    if file.startswith(ENGINE_DIR) or "site-packages" in file or "dist-packages" in file:
        return False
    return any(file.startswith(d.rstrip(os.sep) + os.sep) for d in user_dirs)


_users_folders: tuple[str, ...] = ()    # the folders of the code being linted (see user_code_scope)


@contextlib.contextmanager
def user_code_scope(user_dirs: Sequence[str], own_modules: Sequence[str] = ()) -> Iterator[None]:
    """`user_dirs` on sys.path inside the block; afterwards sys.path as before and user modules gone."""
    global _users_folders
    saved_path, saved_folders = list(sys.path), _users_folders
    before = set(sys.modules)
    real_dirs = [os.path.realpath(d) for d in user_dirs]
    # the user's folders are never scratch space, even inside one (a repository cloned under /tmp); a folder that
    # holds a scratch folder (a loose file in /tmp itself) stays scratch, or no library could write a temporary file
    scratch = [f.rstrip(os.sep) + os.sep for f in _scratch_folders()]
    _users_folders = (*_users_folders, *(d.rstrip(os.sep) + os.sep for d in real_dirs
                                         if not any(f.startswith(d.rstrip(os.sep) + os.sep) for f in scratch)))
    for directory in reversed(user_dirs):
        sys.path.insert(0, directory)
    importlib.invalidate_caches()
    try:
        yield
    finally:
        _users_folders = saved_folders
        sys.path[:] = saved_path
        # decided before any is removed: a namespace package's folders are recomputed from its parent's
        doomed = [name for name in set(sys.modules) - before
                  if name in own_modules or _is_user_module(sys.modules.get(name), real_dirs)]
        for name in doomed:
            del sys.modules[name]



def _package_root(path: Path) -> Path | None:
    """The top folder of the package `path` belongs to (folders with __init__.py), or None. The repository's own
    folder is not one, even with an __init__.py (a leftover, or for those who copy the repository into theirs):
    its scripts run there and import its folders as top-level packages (`from utils.functional import ...`),
    unless the file's relative imports climb up to it."""
    root = None
    folder = path.parent
    top, depth = repository_root(path), 0
    while (folder / "__init__.py").is_file():
        if folder == top and depth > _relative_climb(path):
            break
        root = folder
        folder = folder.parent
        depth += 1
    return root


def _relative_climb(path: Path) -> int:
    """How many packages up the file's relative imports reach (`from ..utils import x`: 1)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return 0
    return max((node.level - 1 for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level),
               default=0)


def module_name_for(path: Path) -> tuple[str, str, bool]:
    """(module name, folder to put on sys.path, is a package module)."""
    root = _package_root(path)
    if root is not None:
        parts = path.relative_to(root.parent).with_suffix("").parts
        return ".".join(parts), str(root.parent), True
    namespaced = _namespace_module(path)
    if namespaced is not None:
        return namespaced
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    stem = re.sub(r"\W", "_", path.stem)
    return f"archlint_target_{stem}_{digest}", str(path.parent), False


def _namespace_module(path: Path) -> tuple[str, str, bool] | None:
    """A file in a folder without __init__.py that the repository's code imports by its folder's name
    (`from layers.Embed import DataEmbedding`) is that module of a namespace package (PEP 420), imported from the
    folder above, where those scripts run: its own folder is then not on sys.path, so a `utils.py` beside it does
    not hide the `utils/` package its imports mean. One that imports relatively (`from .convnext import Block`)
    is named from the repository's root, where its scripts import it from (`import models.convnext_isotropic`).
    None for any other file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return None
    root = repository_root(path)
    if not any(isinstance(node, ast.ImportFrom) and node.level > 0 for node in ast.walk(tree)):
        dotted = f"{path.parent.name}.{path.stem}"
        if path.parent != root and dotted.replace(".", "").isidentifier() and not _taken(path.parent.name, root) \
                and _imported_as(path, dotted, root):
            return dotted, str(path.parent.parent), True
        return None
    try:
        parts = path.relative_to(root).with_suffix("").parts
    except ValueError:
        return None
    if len(parts) < 2 or not all(part.isidentifier() for part in parts):
        return None
    return ".".join(parts), str(root), True


def _taken(name: str, root: Path) -> bool:
    """A top-level name already imported, or an installed package's, outside the repository: a folder of that name
    cannot be imported as a package without hiding it."""
    module = sys.modules.get(name)
    if module is not None:
        return not _is_user_module(module, [str(root)])
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    places = [spec.origin or "", *(spec.submodule_search_locations or [])] if spec is not None else []
    return any(place and not os.path.realpath(place).startswith(str(root) + os.sep) for place in places)


def _imported_as(path: Path, dotted: str, root: Path) -> bool:
    """Some other file of the repository imports `dotted` (`import a.b`, `from a.b import x`, `from a import b`),
    and that import resolves to `path` from where that file is."""
    folder, stem = dotted.split(".")
    statement = re.compile(rf"^\s*(?:from\s+{folder}\.{stem}\s+import|import\s+{folder}\.{stem}\b|"
                           rf"from\s+{folder}\s+import\s+[^#\n]*\b{stem}\b)", re.MULTILINE)
    for document in documents_mentioning(path, frozenset({stem})):
        if document.path.suffix == ".py" and document.path != path.resolve() and statement.search(document.source) \
                and module_files(document.path, dotted, 0, root)[:1] == [path.resolve()]:
            return True
    return False


def _refused_encoding(path: Path) -> str | None:
    """Why Python itself would refuse to run the file for its encoding (not UTF-8, and no coding line says
    otherwise), or None. The import machinery compiles bytes more leniently than `python file.py` does: archlint
    answers as Python does, so that a file is never linted as if it ran."""
    import tokenize

    data = path.read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError:   # the first lines themselves are not UTF-8
        encoding = "utf-8"
    try:
        data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        if not isinstance(exc, UnicodeDecodeError):
            return f"the file declares the encoding {encoding!r}, which Python does not know, so Python refuses to run it"
        line = data[:exc.start].count(b"\n") + 1
        declared = "" if encoding == "utf-8" else f" (it declares {encoding})"
        return (f"the file is not valid {encoding}{declared}: byte {data[exc.start]:#x} on line {line}, and Python "
                f"refuses to run it; save it as UTF-8, or declare its encoding on its first line "
                f"(# -*- coding: latin-1 -*-)")
    return None


def _exec_file(path: Path, name: str, as_package: bool) -> tuple[Any, tuple[int, ...]]:
    """The file's module, and the lines of its module-level training, which was left out (none if the file was
    imported as usual)."""
    if path.suffix == ".ipynb":
        return _exec_notebook(path, name)
    refused = _refused_encoding(path)
    if refused is not None:
        raise LoadError(refused, TargetCause.IMPORT_FAILED)
    if as_package:
        return importlib.import_module(name), ()
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise LoadError("cannot be imported as a Python module", TargetCause.IMPORT_FAILED)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module   # dataclasses and pickling look the module up while it runs
    tree = _parsed(path.read_text(encoding="utf-8", errors="replace"))
    training = module_level_training(tree) if tree is not None else []
    if not training:
        spec.loader.exec_module(module)
        return module, ()
    return module, _exec_without(tree, training, str(path), module)


def _parsed(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:   # Python's own import says so, in its words
        return None


def _exec_without(tree: ast.Module, left_out: list[ast.stmt], file: str, module: types.ModuleType) -> tuple[int, ...]:
    """Run a module's code without some of its top-level statements (a script's training: linting never trains);
    the first line of each one left out."""
    skipped = {id(s) for s in left_out}
    kept = ast.Module([s for s in tree.body if id(s) not in skipped], type_ignores=[])
    exec(compile(kept, file, "exec"), module.__dict__)
    return tuple(s.lineno for s in left_out)


def _script_failure(exc: BaseException) -> bool:
    """A failure of a script's module-level work (a dataset download, a training loop, a missing file, work that
    ran over its CPU budget, an exit: no GPU here, a usage message), as opposed to a file that cannot be Python
    (syntax) or lacks a package. Its classes are defined above its work all the same."""
    return isinstance(exc, (OverBudget, SystemExit)) or \
        isinstance(exc, Exception) and not isinstance(exc, (SyntaxError, ImportError))


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


@dataclass(frozen=True)
class ImportFailure:
    """Why a file's module-level code failed (one line), and the kind of failure."""

    message: str
    cause: TargetCause
    ran: str   # what of the file ran, which is what was linted


class CommandLine(NamedTuple):
    """The arguments a script was imported with, and the placeholders given for what they lacked."""

    argv: tuple[str, ...]
    placeholders: tuple[str, ...]


@dataclass
class ImportedModule:
    """The target's module; `failure` when only its definitions ran (its module-level code failed)."""

    module: types.ModuleType
    failure: ImportFailure | None = None
    training_left_out: tuple[int, ...] = ()   # first lines of the module-level training that was not run
    command_line: CommandLine | None = None   # the arguments it was imported with, when it required some
    kept_on_cpu: list[str] = field(default_factory=list)   # where its code moved to CUDA, without a GPU here
    implicit_imports: list[str] = field(default_factory=list)   # Python 2 relative imports resolved beside the file
    ran_from: Path | None = None   # the folder it was imported from, where a relative path its code reads is
    absent: AbsentPackages | None = None   # the packages it imports that this machine lacks, stood in for

    @property
    def notes(self) -> list[str]:
        cpu = f"moved to CUDA at {', '.join(self.kept_on_cpu)}: kept on the CPU (no GPU here)" \
            if self.kept_on_cpu else None
        ran_from = f"imported from {os.path.relpath(self.ran_from)}{os.sep}, where the files its module-level code " \
            "reads by relative paths are" if self.ran_from is not None else None
        absent = self.absent.note() if self.absent is not None else None
        return [note for note in (self._command_line_note, self.note, cpu, absent,
                                  implicit_imports_note(self.implicit_imports), ran_from) if note]

    @property
    def _command_line_note(self) -> str | None:
        if self.command_line is None:
            return None
        argv, filled = self.command_line
        given = f"with `{' '.join(argv)}` as the repository's READMEs or scripts run it" if argv else \
            "with no arguments"
        return (f"the file parses its command line at import and requires arguments: imported {given}"
                + (f", placeholders for what that lacks ({', '.join(filled)})" if filled else ""))

    @property
    def note(self) -> str | None:
        if self.failure is not None:
            return f"the file's module-level code failed ({self.failure.message}); linted from {self.failure.ran}"
        if self.training_left_out:
            file = self.module.__file__ or ""
            first, *others = [source_position(file, line) for line in self.training_left_out]
            where = ", ".join([first, *(other.removeprefix(display_path(file) + ":") for other in others)])
            return f"the file's module-level training was not run ({where}): linting never trains"
        return None


def _exec_notebook(path: Path, name: str) -> tuple[Any, tuple[int, ...]]:
    """A notebook's code cells run as one module; its source is registered with linecache under the notebook's
    path, so construction sites, tracebacks and `# archlint: ignore` comments work as in a .py file."""
    source, _ = notebook_source(str(path))
    linecache.cache[str(path)] = (len(source), None, source.splitlines(keepends=True), str(path))
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    tree = _parsed(source)
    training = module_level_training(tree) if tree is not None else []
    if not training:
        exec(compile(source, str(path), "exec"), module.__dict__)
        return module, ()
    return module, _exec_without(tree, training, str(path), module)


def read_source(path: str) -> str:
    """The Python source of a target file (a notebook's code cells, joined)."""
    if path.endswith(".ipynb"):
        return notebook_source(path)[0]
    return Path(path).read_text(encoding="utf-8", errors="replace")


# Module-level code of the target file (imports, setup, its models' construction) gets this much CPU time; past it
# (work that is not recognisably training: an evaluation, a dataset scan) the file is linted from its definitions.
IMPORT_CPU_SECONDS = 120


@contextlib.contextmanager
def imported(spec: ModelSpec) -> Iterator[ImportedModule]:
    """The spec's module, imported once with construction sites recorded; cleaned up on exit."""
    if spec.is_module:
        user_dirs, own, name, path, as_package = [os.getcwd()], [], spec.target, None, True
    else:
        path = Path(spec.target).resolve()
        name, folder, as_package = module_name_for(path)
        # the folders above it too, nearest first, up to the repository's root: its scripts run from one of them
        # and import its top-level packages from there (a sub-project's own `layers/` before the root's)
        above = folders_up_to(Path(folder), repository_root(path))   # a package's own folders stay off sys.path
        holders = _folders_holding_imports(path, [Path(folder), *above])
        user_dirs, own = list(dict.fromkeys([folder, *map(str, above), *map(str, holders)])), [name]
    absent = AbsentPackages()
    with user_code_scope(user_dirs, own), as_script(path or Path(name)), cuda_stays_on_cpu() as on_cpu, \
            implicit_relative_imports(_is_users_file) as implicit, standing_in(absent, _is_users_file):
        module, failure, said = _past_missing_packages(absent, _attempt_import(path, name, as_package), path, name,
                                                       as_package)
        # a script reads its files relative to where it is run: its folder, or the repository's root (only its
        # import runs there: the spec's own paths are relative to where archlint runs)
        ran_from = folder_holding(missing_relative_path(failure), (path.parent, repository_root(path))) \
            if failure is not None and path is not None else None
        if ran_from is not None:
            with contextlib.chdir(ran_from):
                module, failure, said = _attempt_import(path, name, as_package)
        if module is None:
            with guarded(), cpu_budget(IMPORT_CPU_SECONDS):
                module = _definitions_after(failure, path, name, said)
        # the models' constructors, run in this block, add theirs
        yield replace(module, kept_on_cpu=on_cpu, implicit_imports=implicit, ran_from=ran_from, absent=absent)


MOST_FOLDERS_UP = 6   # how far above the file a folder of the repository's own code is looked for


def _holder(name: str, folders: Sequence[Path]) -> Path | None:
    """The first of `folders` holding a package or module `name`."""
    return next((f for f in folders if (f / name).is_dir() or (f / f"{name}.py").is_file()), None)


def _not_the_repositorys(name: str | None, path: Path | None) -> str | None:
    """`name`, unless a folder or module of that name is beside the file or above it: the repository's own code,
    which the import did not find from where it ran, is no package to stand in for."""
    if name is None or path is None:
        return name
    return None if _holder(name, list(path.parents)[:MOST_FOLDERS_UP]) is not None else name


def _folders_holding_imports(path: Path, searched: Sequence[Path]) -> list[Path]:
    """Folders above the file, past those searched, that hold a top-level package its absolute imports name and
    nothing installed or searched provides: where it was run from (a copy of a training script kept in
    `log/sem_seg/run/` imports `models.pointnet2_utils` from the repository's root)."""
    if path.suffix != ".py":
        return []
    tree = _parsed(path.read_text(encoding="utf-8", errors="replace"))
    names = {alias.name.partition(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
             for alias in node.names} if tree is not None else set()
    names |= {node.module.partition(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
              and node.level == 0 and node.module} if tree is not None else set()
    holders = []
    for name in sorted(names):
        if _holder(name, searched) is not None or _installed(name):
            continue
        holder = _holder(name, list(path.parents)[:MOST_FOLDERS_UP])
        if holder is not None and holder not in holders:
            holders.append(holder)
    return holders


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _past_missing_packages(absent: AbsentPackages, attempt: tuple[ImportedModule | None, BaseException | None, str],
                           path: Path | None, name: str,
                           as_package: bool) -> tuple[ImportedModule | None, BaseException | None, str]:
    """The import tried again with placeholders for each package its code imports that is not installed
    (load/absent.py), until it gets past them; the first attempt when it does not (its code needs the package)."""
    module, failure, said = attempt
    absent.first_failure = failure
    while module is None and (absent.add(_not_the_repositorys(missing_package(failure), path))
                              or absent.add_lacking(*_import_of_a_lacking_name(failure))):
        module, failure, said = _attempt_import(path, name, as_package)
    if not absent.stood_in or module is None and failure is not None and not _script_failure(failure):
        absent.forget()
        return attempt
    return module, failure, said


def _import_of_a_lacking_name(failure: BaseException | None) -> tuple[ImportError | None, str | None]:
    """The failure and `file:line` of the user's import when it imported a name an installed package lacks (code
    written for another version of it); (None, None) otherwise."""
    if not isinstance(failure, ImportError) or not isinstance(failure.path, str) or \
            installed_package(failure.path) is None:
        return None, None
    frames = traceback.extract_tb(failure.__traceback__)
    importer = frames[-1] if frames else None
    if importer is None or not _is_users_file(importer.filename):
        return None, None
    return failure, f"{importer.filename}:{importer.lineno}"


def _attempt_import(path: Path | None, name: str,
                    as_package: bool) -> tuple[ImportedModule | None, BaseException | None, str]:
    """The target imported (see _import_target), or the failure of its module-level code with what it wrote to
    stderr; a LoadError (the file cannot be linted at all) is raised."""
    stderr = io.StringIO()
    try:
        with kept_stderr() as stderr, user_stdout(), recording_sites(), guarded(), phase("import target"), \
                cpu_budget(IMPORT_CPU_SECONDS):
            module = _import_target(path, name, as_package, stderr) if path else \
                ImportedModule(importlib.import_module(name))
        return module, None, ""
    except (LoadError, KeyboardInterrupt):
        raise
    except BaseException as exc:  # the user's module-level code: anything can happen
        return None, exc, stderr.getvalue()


def _import_target(path: Path, name: str, as_package: bool, stderr: io.StringIO) -> ImportedModule:
    """The file imported as if run with no arguments; if its module-level argparse stops it for arguments it
    requires, as the repository's READMEs and scripts run it, then with placeholders for what it requires. Past
    the command line, a failure of the script's own work is linted from its definitions (under that command
    line)."""
    try:
        executed, training = _exec_file(path, name, as_package)
        return ImportedModule(executed, training_left_out=training)
    except SystemExit as exc:
        if as_package or ": error: " not in stderr.getvalue():
            raise
        stopped, said = exc, stderr.getvalue()
    for argv in [*command_lines(path)[:MOST_COMMAND_LINES], []]:
        stderr.seek(0)
        stderr.truncate()   # argparse's usage text: the report says which command line was used instead
        with command_line(argv, Document(path, "")) as completed:
            try:
                executed, training = _exec_file(path, name, as_package)
            except SystemExit:
                continue
            except BaseException as exc:   # past argparse: the script's own work failed
                failed = _definitions_after(exc, path, name, stderr.getvalue())
                return replace(failed, command_line=CommandLine(tuple(argv), tuple(completed.said())))
            return ImportedModule(executed, training_left_out=training,
                                  command_line=CommandLine(tuple(argv), tuple(completed.said())))
    stderr.seek(0)
    stderr.truncate()
    stderr.write(said)   # the first refusal is the one to explain
    raise stopped


def _definitions_after(exc: BaseException, path: Path | None, name: str, stderr: str) -> ImportedModule:
    """The file's definitions, after its module-level code failed; a LoadError when that is not a script's work
    failing (syntax, a missing package, an exit) or its definitions do not run either."""
    if isinstance(exc, (LoadError, KeyboardInterrupt)):
        raise exc
    message = f"{exc}{user_frame_suffix(exc)}" if isinstance(exc, OverBudget) else import_error_message(exc, stderr)
    # work that ran over its budget would only do so again: past it, only the definitions run
    ran = _past_failures(path, name, whole=not isinstance(exc, OverBudget)) \
        if path and _script_failure(exc) else None
    if ran is None:
        raise LoadError(message, import_error_cause(exc)) from exc
    module, what_ran = ran
    return ImportedModule(module, ImportFailure(message, import_error_cause(exc), what_ran))


def _makes_models(module: types.ModuleType) -> bool:
    """Whether a module defines a class or holds something with a forward (a model made at module level)."""
    return any(isinstance(value, type) and value.__module__ == module.__name__ or hasattr(type(value), "forward")
               for value in vars(module).values())


_PAST_FAILURES = "what ran past it (each top-level statement on its own, as {} run again after an error; a " \
                 "statement that failed or needed what failed left out, training never run)"
_DEFINITIONS = "its definitions only (imports, classes, functions, command-line defaults)"


def _past_failures(path: Path, name: str, whole: bool) -> tuple[types.ModuleType, str] | None:
    """The file run again one top-level statement at a time, as a person re-runs a notebook's cells after an
    error: a statement that fails is left out and the next one runs (a script's `env.seed(1)` that the installed
    gym no longer has does not stop the classes below it); its training never runs. Past an exit or the CPU
    budget, and throughout when not `whole`, only definitions run (imports, classes, functions, command-line
    defaults). The module and what ran, or None if no class or instance was made."""
    source = read_source(str(path))
    tree = _parsed(source)
    if tree is None:
        return None
    if path.suffix == ".ipynb":   # tracebacks and construction sites read the cells' code by the notebook's path
        linecache.cache[str(path)] = (len(source), None, source.splitlines(keepends=True), str(path))
    training = {id(s) for s in module_level_training(tree)}
    module = types.ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module
    definitions_only = not whole
    with user_stdout(), recording_sites():
        for statement in (s for s in tree.body if id(s) not in training):
            if definitions_only and not _is_definition(statement):
                continue
            try:
                with kept_stderr():   # an exit's usage text was said with the first failure
                    exec(compile(ast.Module([statement], type_ignores=[]), str(path), "exec"), module.__dict__)
            except KeyboardInterrupt:
                raise
            except Exception:
                continue
            except BaseException:   # it exits or ran over its budget: what is left runs its definitions only
                definitions_only = True
    if not _makes_models(module):
        sys.modules.pop(name, None)
        return None
    if definitions_only and not whole:
        return module, _DEFINITIONS
    return module, _PAST_FAILURES.format("cells are" if path.suffix == ".ipynb" else "a notebook's cells are")


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


def user_stdout() -> contextlib.AbstractContextManager[Any]:
    """User code that prints goes to stderr, so a report written to stdout (JSON) stays parseable."""
    return contextlib.redirect_stdout(sys.stderr)





# -- the guard: no file writes, no network, no processes while a construction site's code runs ---------------------

class Refused(PermissionError):
    """What the guard said no to, in the user's terms (a download, a file written, a process started)."""


class NetworkRefused(Refused, ConnectionError):
    """A download the guard refused: a connection error to the code that tried it, named as a download."""


_guard_on = False
_guard_installed = False
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_WRITE_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "shutil.rmtree", "shutil.move", "os.truncate"}
_PROCESS_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork"}
_NETWORK_EVENTS = {"socket.connect", "socket.getaddrinfo", "urllib.Request", "http.client.connect"}


@functools.lru_cache(maxsize=1)
def _scratch_folders() -> tuple[str, ...]:
    """Folders a library may write while a model is built (its caches, temporary files): not the user's files."""
    import tempfile

    return (os.path.realpath(tempfile.gettempdir()), os.path.realpath(os.path.expanduser("~/.cache")), "/dev/")


def _is_write(event: str, args: tuple[Any, ...]) -> str | None:
    if event == "open" and len(args) >= 3:
        path, mode, flags = args[0], args[1], args[2]
        writes = any(c in mode for c in "wax+") if isinstance(mode, str) else bool((flags or 0) & _WRITE_FLAGS)
        return str(path) if writes and isinstance(path, (str, bytes, os.PathLike)) else None
    if event in _WRITE_EVENTS and args:
        return str(args[0])
    return None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    global _guard_on
    if not _guard_on:
        return
    _guard_on = False   # what the hook itself does (resolving a path) raises events of its own
    try:
        refusal = _refusal(event, args)
    finally:
        _guard_on = True
    if refusal is not None:
        raise NetworkRefused(refusal) if event in _NETWORK_EVENTS else Refused(refusal)


def _refusal(event: str, args: tuple[Any, ...]) -> str | None:
    written = _is_write(event, args)
    if written is not None:
        real = os.path.realpath(os.fsdecode(written))
        if not real.startswith(_scratch_folders()) or real.startswith(_users_folders):
            return f"writes {display_path(real)} (archlint never writes files while it builds a model)"
    elif event in _NETWORK_EVENTS:
        return "a download: archlint uses no network while it builds a model"
    elif (event in _PROCESS_EVENTS or event.startswith(("os.exec", "os.spawn", "os.posix_spawn"))) and \
            not _library_being_imported():
        return "starts a process, which archlint does not do to build a model"
    return None


_INSTALLED = re.compile(r"[/\\\\](site|dist)-packages[/\\\\]")


def _library_being_imported() -> bool:
    """An installed library is running its own module code, as it is imported: a probe it makes then (glfw asking
    a child interpreter for its shared library's version, `ctypes.util.find_library` running ldconfig) is not the
    repository's work and is let through."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:   # the guard's own frames
        frame = frame.f_back
    while frame is not None:
        file = frame.f_code.co_filename
        if _INSTALLED.search(file):
            if frame.f_code.co_name == "<module>":
                return True
        elif is_user_file(file) or file.startswith(ENGINE_DIR):   # the repository's code (or archlint) asked first
            return False
        frame = frame.f_back
    return False


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Inside the block, the process may not write outside scratch folders, use the network or start processes:
    the code of a README or a training script runs here only to build a model (an audit hook, PEP 578)."""
    global _guard_on, _guard_installed
    if not _guard_installed:
        # known before the hook can run: resolving them inside it would take tempfile's lock, which the code that
        # raised the event may hold (torch's cache folder is found under that lock)
        _scratch_folders()
        sys.addaudithook(_audit)   # hooks cannot be removed: this one does nothing outside the block
        _guard_installed = True
    previous, _guard_on = _guard_on, True
    try:
        with _no_process_groups(), _folders_not_made():
            yield
    finally:
        _guard_on = previous


@contextlib.contextmanager
def _folders_not_made() -> Iterator[None]:
    """A repository's module makes the folders its runs write to as it is imported (`os.makedirs(CHECKPOINTS,
    exist_ok=True)`; git keeps no empty folder, so a fresh clone has none): making one is let pass without making
    it, as if it had been made. What is written into it is still refused."""
    make = os.mkdir

    def mkdir(path: Any, mode: int = 0o777, *, dir_fd: int | None = None) -> None:
        if not _guard_on or dir_fd is not None or _refusal("os.mkdir", (path,)) is None:
            return make(path, mode, dir_fd=dir_fd)
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), os.fsdecode(path))
        return None

    os.mkdir = mkdir
    try:
        yield
    finally:
        os.mkdir = make


# every way `torch.distributed.init_process_group` makes a group goes through these (looked up when it is called)
_PROCESS_GROUP_STEPS = ("rendezvous", "_new_process_group_helper")


@contextlib.contextmanager
def _no_process_groups() -> Iterator[None]:
    """A process group is a distributed runtime: its store waits for peers that never come (a script's
    `init_process_group(world_size=...)` waits without using the CPU), and a group made here would outlive the
    lint in the user's process. Refused as a process start is, so a script's own fallback (`except Exception:
    world_size = 1`) runs."""
    try:
        from torch.distributed import distributed_c10d
    except ImportError:   # a torch built without distributed support has none to refuse
        yield
        return

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise Refused("starts a distributed process group, which archlint does not do to build a model (it builds "
                      "the model in one process)")

    saved = {name: getattr(distributed_c10d, name) for name in _PROCESS_GROUP_STEPS if hasattr(distributed_c10d, name)}
    for name in saved:
        setattr(distributed_c10d, name, refuse)
    try:
        yield
    finally:
        for name, step in saved.items():
            setattr(distributed_c10d, name, step)


class OverBudget(BaseException):   # not an Exception: the code it interrupts must not swallow it
    """Code of the repository ran longer than archlint gives it to build a model."""


@contextlib.contextmanager
def cpu_budget(seconds: float) -> Iterator[None]:
    """Inside the block, the process may use `seconds` of CPU time; then OverBudget is raised where the code is
    (a training loop that a slice would reach, a dataset scan). Only the main thread can keep the clock; elsewhere
    (the MCP server's worker threads) the block runs without one."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer") or \
            0 < signal.getitimer(signal.ITIMER_PROF)[0] <= seconds:   # an enclosing budget ends sooner: it keeps
        yield
        return

    def expired(signum: int, frame: Any) -> None:
        raise OverBudget(f"it ran for more than {seconds:g} s of CPU time, the most archlint gives code that builds "
                         f"a model")

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)

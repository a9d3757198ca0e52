"""A target or model that cannot be loaded, said in one line in the user's terms."""
from __future__ import annotations

import importlib.util
import inspect
import os
import re
import sys
import traceback
from pathlib import Path

import torch

from archlint.load.absent import lacked_name
from archlint.load.repository import file_names, repository_root
from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.errors import first_line, missing_relative_path, user_error_text
from archlint.mechanics.frames import is_user_file, user_frame_suffix
from archlint.mechanics.installed import installed_package, installed_version, refused_call
from archlint.mechanics.source import display_path
from archlint.plugin.results import ErrorKind, TargetCause, TargetError, UnbuiltModel


class LoadError(Exception):
    """A target or model that cannot be loaded; the message is one line naming the cause, `cause` its kind."""

    def __init__(self, message: str, cause: TargetCause = TargetCause.NOT_BUILT, unbuilt: UnbuiltModel | None = None):
        super().__init__(message)
        self.cause = cause
        self.unbuilt = unbuilt    # set where the target is known: the model needs arguments nothing supplied

    def target_error(self, target: str) -> TargetError:
        return TargetError(target, str(self), ErrorKind.LOAD, self.cause, (self.unbuilt,) if self.unbuilt else ())



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
    if isinstance(exc, ModuleNotFoundError) and exc.name and "." not in exc.name:
        return (f"the constructor needs the package {exc.name!r}, which is not installed here"
                f"{user_frame_suffix(exc)}; install it (pip install {exc.name}) to lint this model")
    lacked = lacked_name_used(exc, "constructor")
    if lacked is not None:
        return lacked
    if isinstance(exc, KeyError) and exc.args and _takes_var_keywords(cls):
        return (f"constructor raised {user_error_text(exc)}: it reads {exc.args[0]!r} from **kwargs and none was "
                f"given; give it as kwargs in a models entry of the config, or pass an instance")
    return f"constructor raised {user_error_text(exc)}"


def lacked_name_used(exc: BaseException, user: str) -> str | None:
    """One line for a model whose `user` (its constructor, its forward) uses a name the installed package lacks,
    which its file imported (a placeholder stood in for it, load/absent.py); None for another failure."""
    lacked = _name_installed_package_lacks(exc)
    if lacked is None:
        return None
    name, module, installed = lacked
    return (f"the {user} uses {name} from {module}, which the installed {installed} does not have"
            f"{user_frame_suffix(exc)}{_another_version(installed)}")


def _takes_var_keywords(cls: type) -> bool:
    try:
        return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return False



# what an installed package raises for a reason of its own that is not the versions installed beside it
_NOT_A_CONFLICT = frozenset({Cause.NETWORK, Cause.MISSING_FILE, Cause.CUDA_ONLY, Cause.OUT_OF_MEMORY,
                             Cause.TERMINAL_INPUT})


def _failing_installed_package(exc: BaseException) -> str | None:
    """The installed package the user's code imported when installed code raised `exc` during that import (the
    innermost frame is an installed package's, the user's last one an import statement; the package named is the
    outermost one, the import the user wrote: `torchtext`, whose load of its compiled library fails inside
    torch): it fails with what is installed beside it, not in the user's code."""
    if isinstance(exc, (SyntaxError, SystemExit, ModuleNotFoundError)) or causes(exc) & _NOT_A_CONFLICT:
        return None
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames or installed_package(frames[-1].filename) is None:
        return None
    # the user's last statement is an import (not a call of the package's API with values of the user's, which
    # may be what is wrong): the package failed in its own module-level code
    users = [f for f in frames if installed_package(f.filename) is None]
    if users and not (users[-1].line or "").lstrip().startswith(("import ", "from ")):
        return None
    return next(p for p in (installed_package(f.filename) for f in frames) if p)


def _missing_submodule(exc: BaseException) -> tuple[str | None, str, str] | None:
    """(the installed package whose code failed, or None for the repository's own code; the submodule it imports;
    the installed version of the package that lacks it) when code imports a submodule an installed package no
    longer has (`taming` importing `pytorch_lightning.utilities.distributed`, gone from Lightning 2; a model file
    importing `timm.models.layers.helpers`, gone from timm 1)."""
    if not (isinstance(exc, ModuleNotFoundError) and exc.name and "." in exc.name):
        return None
    top = exc.name.split(".")[0]
    try:
        if importlib.util.find_spec(top) is None:
            return None
    except (ImportError, ValueError):
        return None
    frames = traceback.extract_tb(exc.__traceback__)
    package = next((p for p in (installed_package(f.filename) for f in reversed(frames)) if p), None)
    if package == top:   # a package missing a module of its own: a broken install, not two versions
        return None
    installed = installed_version(top)
    return (package, exc.name, installed) if installed is not None else None


def _name_installed_package_lacks(exc: BaseException) -> tuple[str, str, str] | None:
    """(the name, the installed module it was imported from, the installed distribution and its version) when a
    `from module import name` failed because the installed package does not have the name (the repository was
    written for another version: `from torch.functional import align_tensors`, gone from torch 2)."""
    lacked, path = lacked_name(exc), getattr(exc, "path", None)
    if lacked is None or not isinstance(path, str) or installed_package(path) is None:
        return None
    module, _, name = lacked.rpartition(".")
    installed = installed_version(module.split(".")[0])
    return (name, module, installed) if installed is not None else None


def _code_to_add(exc: BaseException) -> str | None:
    """Where the repository's README says to add third-party code it does not include, when the code imports it
    into one of its own packages and it is not there (SPADE's `models.networks.sync_batchnorm`: "git clone
    Synchronized-BatchNorm-PyTorch; cp -rf .../sync_batchnorm ."): `README.md:45`."""
    if not (isinstance(exc, ModuleNotFoundError) and exc.name and "." in exc.name):
        return None
    parent, _, missing = exc.name.rpartition(".")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if installed_package(f.filename) is None]
    importing = Path(frames[-1].filename).resolve() if frames else None
    package = next((folder.joinpath(*parent.split(".")) for folder in (importing.parents if importing else [])
                    if folder.joinpath(*parent.split(".")).is_dir()), None)
    if package is None:
        return None   # not a package of the repository
    root = repository_root(package)
    for readme in sorted(root.glob("*.md")) + sorted(root.glob("*.rst")):
        try:
            lines = readme.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        line = next((i for i, text in enumerate(lines, 1) if missing in text), None)
        if line is not None:
            return f"{readme.relative_to(root)}:{line}"
    return None


def _package_said_missing(exc: BaseException) -> str | None:
    """The package an installed package said is not installed, in an error of its own (gym's
    `DependencyNotInstalled: No module named 'mujoco_py'`), when it is indeed not importable here."""
    frames = traceback.extract_tb(exc.__traceback__)
    match = re.search(r"No module named '([\w.]+)'", str(exc))
    if isinstance(exc, ModuleNotFoundError) or match is None or not frames or \
            installed_package(frames[-1].filename) is None:
        return None
    top = match.group(1).split(".")[0]
    try:
        return top if importlib.util.find_spec(top) is None else None
    except (ImportError, ValueError):
        return top


_DEPRECATED = re.compile(r"\bdeprecated\b|\bno longer (supported|available)\b|\bhas been removed\b", re.IGNORECASE)


def _refused_as_deprecated(exc: BaseException) -> str | None:
    """The installed package (and its version) that refused what the code asks for as deprecated or removed
    (gym's `DeprecatedEnv: Environment version v0 for Pendulum is deprecated`, supersuit's `resize_v0 is now
    deprecated`): the code was written for another version."""
    frames = traceback.extract_tb(exc.__traceback__)
    package = installed_package(frames[-1].filename) if frames else None
    if package is None or not (_DEPRECATED.search(str(exc)) or "Deprecat" in type(exc).__name__):
        return None
    return installed_version(package.split(".")[0]) or package


def _attribute_installed_module_lacks(exc: BaseException) -> tuple[str, str] | None:
    """(`torchvision.transforms.transforms.Scale`, the installed distribution and its version) when the code reads
    an attribute an installed module does not have (`module 'torchvision.transforms.transforms' has no attribute
    'Scale'`: removed in a later version)."""
    match = re.match(r"module '([\w.]+)' has no attribute '(\w+)'", str(exc))
    if not isinstance(exc, AttributeError) or match is None:
        return None
    module = sys.modules.get(match.group(1))
    if module is None or installed_package(getattr(module, "__file__", None) or "") is None:
        return None
    installed = installed_version(match.group(1).split(".")[0])
    return (f"{match.group(1)}.{match.group(2)}", installed) if installed is not None else None


# what a compiled extension is built from, beside the module that imports it
_EXTENSION_SOURCES = (".pyx", ".c", ".cpp", ".cu")
_BUILDS_EXTENSIONS = ("ext_modules", "cythonize", "CUDAExtension", "CppExtension", "build_ext")


def unbuilt_extension(exc: BaseException) -> Path | None:
    """The folder to build in, when `exc` is the import of a module the repository compiles and nobody built
    (`from .monotonic_align import maximum_path_c` beside `core.pyx` and a setup.py that cythonizes it)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if installed_package(f.filename) is None]
    parent, _, last = exc.name.rpartition(".")
    package = sys.modules.get(parent) if parent else None
    folders = [Path(p) for p in getattr(package, "__path__", [])] or \
        [Path(f.filename).parent for f in frames[-1:] if Path(f.filename).is_file()]
    for folder in folders:
        setup = folder / "setup.py"
        builds = setup.is_file() and any(word in setup.read_text(errors="replace") for word in _BUILDS_EXTENSIONS)
        if builds or any((folder / f"{last}{suffix}").is_file() for suffix in _EXTENSION_SOURCES):
            return folder
    return None


def _missing_data(exc: BaseException) -> bool:
    """A data file this machine does not have: at an absolute path (`/root/data/coco/coco_labels.txt`, the author's
    machine), or at a relative one whose file the repository does not hold in any folder (`data/train.txt`, a
    dataset its README says to download, a checkpoint it trains): not a file of the repository read from the wrong
    folder."""
    if Cause.MISSING_FILE not in causes(exc):
        return False
    relative = missing_relative_path(exc)
    if relative is None:
        return os.path.isabs(str(getattr(exc, "filename", "")))
    reader = next((frame.filename for frame in reversed(traceback.extract_tb(exc.__traceback__))
                   if is_user_file(frame.filename) and installed_package(frame.filename) is None), None)
    root = repository_root(Path(reader)) if reader else None
    return root is not None and os.path.basename(relative) not in file_names(root)


def import_error_cause(exc: BaseException) -> TargetCause:
    """The kind of failure of an import (or of a statement or constructor of the repository), for the summary and
    the reach benchmark."""
    if unbuilt_extension(exc) is not None:
        return TargetCause.UNBUILT_EXTENSION
    if isinstance(exc, ModuleNotFoundError) and exc.name and "." not in exc.name or \
            _package_said_missing(exc) is not None or _code_to_add(exc) is not None:
        return TargetCause.MISSING_PACKAGE
    if causes(exc) & {Cause.NO_RPC, Cause.NO_PROCESS_GROUP}:
        return TargetCause.NEEDS_DISTRIBUTED
    if _missing_data(exc):
        return TargetCause.NEEDS_DATA
    if _missing_submodule(exc) is not None or _failing_installed_package(exc) is not None or \
            _name_installed_package_lacks(exc) is not None or refused_call(exc) is not None or \
            _refused_as_deprecated(exc) is not None or _attribute_installed_module_lacks(exc) is not None:
        return TargetCause.VERSION_CONFLICT
    if isinstance(exc, SystemExit):
        return TargetCause.EXITED_AT_IMPORT
    if Cause.NETWORK in causes(exc):   # the module fetches files when imported (a tokenizer, a config)
        return TargetCause.NEEDS_DOWNLOAD
    return TargetCause.IMPORT_FAILED


# what stops a model that no reading of the repository can supply: the machine's packages, data, build or runtime
ENVIRONMENT = (TargetCause.MISSING_PACKAGE, TargetCause.VERSION_CONFLICT, TargetCause.NEEDS_DATA,
               TargetCause.UNBUILT_EXTENSION, TargetCause.NEEDS_DISTRIBUTED)


def environment_cause(exc: BaseException) -> TargetCause | None:
    """The environment's cause when `exc` comes from what the machine lacks rather than the code (a package not
    installed, a version that lacks a name or refuses a call's arguments, a data file, an unbuilt extension, a
    distributed runtime), else None."""
    cause = import_error_cause(exc)
    return cause if cause in ENVIRONMENT else None


def _another_version(installed: str) -> str:
    """The end of a message for code written against another version of an installed distribution (`timm 1.0.31`)."""
    return (f": it was written for another version; install the version of {installed.split()[0]} the repository "
            f"was written for")


def import_error_message(exc: BaseException, stderr: str = "") -> str:
    """One line for a file that cannot be imported (`stderr`: what the file printed there while importing)."""
    if isinstance(exc, SyntaxError):
        where = f"{display_path(exc.filename)}:{exc.lineno}" if exc.filename else f"line {exc.lineno}"
        return f"SyntaxError: {exc.msg} at {where}"
    folder = unbuilt_extension(exc)
    if folder is not None:
        return (f"cannot import: the repository's compiled extension {exc.name} is not built"   # type: ignore[attr-defined]
                f"{user_frame_suffix(exc)}; build it (python setup.py build_ext --inplace in {display_path(str(folder))})"
                " to lint this file")
    if isinstance(exc, ModuleNotFoundError) and exc.name and "." not in exc.name:
        return (f"cannot import: the file needs the package {exc.name!r}, which is not installed here"
                f"{user_frame_suffix(exc)}; install it (pip install {exc.name}) to lint this file")
    conflict = _missing_submodule(exc)
    if conflict is not None and conflict[0] is None:
        _, missing, installed = conflict
        return (f"cannot import: the code imports {missing}, which the installed {installed} does not have"
                f"{user_frame_suffix(exc)}{_another_version(installed)}")
    if conflict is not None:
        package, missing, installed = conflict
        return (f"cannot import: the installed package {package!r} imports {missing}, which the installed "
                f"{installed} does not have{user_frame_suffix(exc)}: the two installed versions do not fit "
                f"together; install the version of {installed.split()[0]} that {package!r} was written for")
    lacked = _name_installed_package_lacks(exc)
    if lacked is not None:
        name, module, installed = lacked
        return (f"cannot import: the code imports {name} from {module}, which the installed {installed} does not "
                f"have{user_frame_suffix(exc)}{_another_version(installed)}")
    to_add = _code_to_add(exc)
    if to_add is not None:
        return (f"cannot import: the code imports {exc.name}, which the repository does not include"  # type: ignore[attr-defined]
                f"{user_frame_suffix(exc)}: third-party code to add, as {to_add} says")
    said_missing = _package_said_missing(exc)
    if said_missing is not None:
        return (f"cannot import: {type(exc).__name__}: {first_line(exc)}{user_frame_suffix(exc)}: the package "
                f"{said_missing!r} is not installed here; install it to lint this file")
    deprecated = _refused_as_deprecated(exc)
    if deprecated is not None:
        return (f"cannot import: the installed {deprecated} refused what the code asks for: {type(exc).__name__}: "
                f"{first_line(exc)}{user_frame_suffix(exc)}{_another_version(deprecated)}")
    lacking = _attribute_installed_module_lacks(exc)
    if lacking is not None:
        attribute, installed = lacking
        return (f"cannot import: the code uses {attribute}, which the installed {installed} does not have"
                f"{user_frame_suffix(exc)}{_another_version(installed)}")
    failing = _failing_installed_package(exc)
    if failing is not None:
        return (f"cannot import: the installed package {failing!r} raised {type(exc).__name__}: {first_line(exc)}"
                f"{user_frame_suffix(exc)}: it does not work with the versions installed beside it (or needs what "
                f"this machine lacks); install the versions the repository was written for")
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




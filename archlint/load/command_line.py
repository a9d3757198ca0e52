"""A script's command line: the arguments its READMEs and shell scripts run it with, and sys.argv, argparse and absl
as the script sees them while a construction site's statements run."""
from __future__ import annotations

import argparse
import contextlib
import os
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch

from archlint.load.config_files import smallest_config_near
from archlint.load.repository import Document, repository_root
from archlint.mechanics.source import display_path


MOST_COMMAND_LINES = 6   # of a script's, from its READMEs and shell scripts, tried in order
# `python [-u] train.py ARGS`, also behind a launcher and its own options (`python -m torch.distributed.launch
# --nproc_per_node 8 main.py ARGS`, `torchrun --nproc_per_node=8 main.py ARGS`, `accelerate launch train.py ARGS`)
_COMMAND = re.compile(r"(?:^|[\s;&|`])(?:python[0-9.]*|torchrun|accelerate\s+launch|deepspeed)\s+(?:[^#|;&]*?\s)?"
                      r"(\S+\.py)\b(.*)")
# a shell script's variables (`model_name=DLinear`, `export SEQ=96`, `for model in DLinear NLinear; do`), read in order
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_]\w*)=(\S*)\s*$")
_LOOP = re.compile(r"^\s*for\s+([A-Za-z_]\w*)\s+in\s+([^;]+?)\s*(?:;\s*do\b.*)?$")
_CONTINUED = re.compile(r"\\[ \t]*\r?\n")
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")


def command_lines(script: Path) -> list[list[str]]:
    """The arguments the repository's READMEs and shell scripts run `script` with (`python cifar.py -a resnet
    --depth 110`), in the order they appear, nearest documents first; a shell script's variables are expanded as
    the shell would on the script's first pass (a loop's first value)."""
    root = repository_root(script)
    found: list[list[str]] = []
    candidates = sorted((p for p in _text_files(root)), key=lambda p: len(p.relative_to(root).parts))
    for path in candidates:
        try:
            # a line continued with a backslash, also when spaces follow it (as READMEs often have them)
            text = _CONTINUED.sub(" ", path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        variables: dict[str, str] = {}
        for line in text.splitlines():
            _read_variables(line, variables)
            match = _COMMAND.search(line)
            if match and Path(match.group(1)).name == script.name:
                expanded = _VARIABLE.sub(lambda v: variables.get(v.group(1) or v.group(2), v.group(0)), match.group(2))
                try:
                    arguments = shlex.split(expanded.split("#")[0].split("|")[0].split("&&")[0].split(">")[0])
                except ValueError:
                    continue
                if arguments not in found:
                    found.append(arguments)
    return found


def _read_variables(line: str, variables: dict[str, str]) -> None:
    assigned, loop = _ASSIGNMENT.match(line), _LOOP.match(line)
    try:
        if assigned:
            value = _VARIABLE.sub(lambda v: variables.get(v.group(1) or v.group(2), v.group(0)), assigned.group(2))
            variables[assigned.group(1)] = " ".join(shlex.split(value))
        elif loop:
            values = shlex.split(loop.group(2))
            if values:
                variables[loop.group(1)] = values[0]
    except ValueError:   # an unbalanced quote: not a value to use
        return


def _text_files(root: Path) -> Iterator[Path]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("node_modules", "__pycache__")]
        for name in files:
            if name.endswith((".md", ".rst", ".sh", ".txt", ".markdown")):   # READMEs, TRAINING.md, run scripts
                yield Path(folder) / name
        if folder.count(os.sep) - str(root).count(os.sep) > 3:
            dirs[:] = []


@dataclass
class Completed:
    """What a run of a script was given besides its command line, each said for the report: placeholders for the
    arguments it requires that nobody gave (`DIR='.'`: guesses), and this machine's settings (`--device='cpu'`, a
    one-process launch's rank), which any run here needs."""

    placeholders: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)

    def said(self) -> list[str]:
        return list(dict.fromkeys([*self.placeholders, *self.settings]))


@contextlib.contextmanager
def command_line(argv: list[str], document: Document) -> Iterator[Completed]:
    """sys.argv as the script sees it when run with `argv`; an argparse parser that requires arguments the command
    line does not give (the data folder a training script takes, `DIR`, `--dataset`) gets placeholders for them, and
    a device that defaults to CUDA on a machine without one is the CPU, so the statements that build the model run:
    what was given is named in the record yielded (`DIR='.'`, `--device='cpu'`), for the report."""
    saved, original = sys.argv, argparse.ArgumentParser.parse_known_args
    sys.argv = [str(document.path), *argv]
    completed = Completed()

    def with_placeholders(parser: argparse.ArgumentParser, args: Any = None, namespace: Any = None) -> Any:
        given = list(sys.argv[1:] if args is None else args)
        parsed, rest = original(parser, [*given, *_placeholders(parser, given, completed.placeholders, document.path)],
                                namespace)
        for name, value in vars(parsed).items():
            if isinstance(value, str) and CUDA_DEVICE.fullmatch(value) and not torch.cuda.is_available():
                setattr(parsed, name, "cpu")
                completed.settings.append(f"--{name}='cpu' (no GPU here)")
        return parsed, rest

    argparse.ArgumentParser.parse_known_args = with_placeholders   # type: ignore[method-assign]
    try:
        with launched_as_one_process(completed.settings):
            yield completed
    finally:
        sys.argv = saved
        argparse.ArgumentParser.parse_known_args = original   # type: ignore[method-assign]
        _unparse_absl_flags()


# What a distributed launcher (torchrun, torch.distributed.launch) sets for the one process of a one-process run.
ONE_PROCESS_LAUNCH = {"LOCAL_RANK": "0", "RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"}


@contextlib.contextmanager
def launched_as_one_process(given: list[str]) -> Iterator[None]:
    """A script written for a launcher reads its rank from the environment (`int(os.environ["LOCAL_RANK"])`): that
    read, which would raise here, gets what a one-process launch sets, and is named in `given`. Code that asks
    whether it was launched (`"RANK" in os.environ`, `os.environ.get("LOCAL_RANK", -1)`) is answered as before: it
    runs as a single process."""
    environ = type(os.environ)
    original = environ.__getitem__
    saved = {name: vars(environ).get(name) for name in ("__getitem__", "__contains__", "get")}

    def item(self: Any, key: str) -> str:
        try:
            return original(self, key)
        except KeyError:
            if self is not os.environ or key not in ONE_PROCESS_LAUNCH:
                raise
            said = f"{key}={ONE_PROCESS_LAUNCH[key]} (a one-process launch)"
            if said not in given:
                given.append(said)
            return ONE_PROCESS_LAUNCH[key]

    def contains(self: Any, key: object) -> bool:
        try:
            original(self, key)
        except KeyError:
            return False
        return True

    def get(self: Any, key: str, default: Any = None) -> Any:
        return original(self, key) if contains(self, key) else default

    environ.__getitem__, environ.__contains__, environ.get = item, contains, get   # type: ignore[method-assign]
    try:
        yield
    finally:   # as it was, also inside another such run
        for name, value in saved.items():
            if value is not None:
                setattr(environ, name, value)
            elif name in vars(environ):
                delattr(environ, name)


CUDA_DEVICE = re.compile(r"cuda(:\d+)?")


def parse_absl_flags() -> None:
    """absl's FLAGS, defined by the site's code but parsed only by the `app.run(main)` a slice never runs: parsed here
    from the script's command line, with their defaults (unparsed again when the site is done)."""
    flags = sys.modules.get("absl.flags")
    if flags is None or flags.FLAGS.is_parsed():
        return
    try:
        flags.FLAGS(sys.argv, known_only=True)
    except Exception:   # a required flag or a bad value: the statement that reads it says so
        return


def reads_absl_flags(namespace: dict[str, Any]) -> bool:
    """Whether code that ran in `namespace` holds absl's parsed FLAGS (or its flags module): absl is imported by
    libraries too, and its FLAGS outlive the code that defined them, so only a site that holds them used them."""
    flags = sys.modules.get("absl.flags")
    return flags is not None and flags.FLAGS.is_parsed() and \
        any(value is flags.FLAGS or value is flags for value in namespace.values())


def _unparse_absl_flags() -> None:
    flags = sys.modules.get("absl.flags")
    if flags is not None and flags.FLAGS.is_parsed():
        flags.FLAGS.unparse_flags()


def _placeholders(parser: argparse.ArgumentParser, given: list[str], filled: list[str], script: Path) -> list[str]:
    """Values for the arguments `parser` requires that `given` lacks: a required flag, and the positionals when no
    positional value is given: the default the script declares for it anyway (argparse ignores it for a required
    argument, but it is the value its author meant), else the first choice, 1 for a number, `.` for the rest."""
    added: list[str] = []
    positional_given = any(not token.startswith("-") for token in given)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.nargs == 0:
            continue
        if action.option_strings:
            if not action.required or any(token.split("=", 1)[0] in action.option_strings for token in given):
                continue
            value = _placeholder(action, script)
            added += [action.option_strings[0], value]
        elif not positional_given and action.nargs not in ("?", "*", argparse.REMAINDER):
            value = _placeholder(action, script)
            added.append(value)
        else:
            continue
        shown = display_path(value) if os.path.isabs(value) else value
        filled.append(f"{action.option_strings[0] if action.option_strings else action.metavar or action.dest}={shown!r}")
    return added


# an argument naming the configuration a script reads (`--config`, `-c/--cfg`, `--hparams`, `--yaml`)
_CONFIG_ARGUMENT = re.compile(r"conf|cfg|ya?ml|hparam|hyper|settings", re.I)


def _placeholder(action: argparse.Action, script: Path) -> str:
    default = action.default[0] if isinstance(action.default, (list, tuple)) and action.default else action.default
    if default is not None and default is not argparse.SUPPRESS and not isinstance(default, (list, tuple, bool)):
        return str(default)
    if action.type in (None, str) and not action.choices and \
            any(_CONFIG_ARGUMENT.search(name) for name in [action.dest, *action.option_strings]):
        config = smallest_config_near(script)   # absolute: right from any folder, also joined to another
        if config is not None:
            return str(config)
    if action.choices:
        return str(next(iter(action.choices)))
    return "1" if action.type in (int, float) else "."


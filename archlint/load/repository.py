"""The repository a model file belongs to, and the documents in it that hold code: .py files, notebooks, and the
python examples of its READMEs and docs.

The root is found the way git and ruff find it: the nearest folder above with `.git` or a project file
(pyproject.toml, setup.py, setup.cfg). When there is none (a downloaded archive, a folder copied out of a
repository), it is found the way a reader would: the highest folder above the file that still looks like part of
one project (a README, a licence, a requirements file, or Python code), passing a folder that holds only folders
(a namespace package's `models/` around `definitions/`), never climbing past the user's home or more than a few
levels.

Each document is read into one Python source whose line numbers are the document's own: the lines of a README that
are not code become blank lines, so a construction site found in it is named `README.md:31-37`.
"""
from __future__ import annotations

import ast
import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from archlint.mechanics.source import notebook_source

PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")   # a project's own root, as ruff finds it
PROJECT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "environment.yml", "hubconf.py")
TEXT_DOCUMENTS = (".md", ".rst", ".markdown")
CODE_DOCUMENTS = (".py", ".ipynb")
SKIPPED_FOLDERS = {"__pycache__", "site-packages", "dist-packages", "node_modules", "venv", "env", "build", "dist",
                   ".ipynb_checkpoints"}
MOST_LEVELS = 6                # above the file's folder, when no .git says where the repository starts
MOST_DOCUMENTS = 3000          # a monorepo is read up to this many documents (nearest folders first)
LARGEST_DOCUMENT = 1_000_000   # bytes: generated or data files are not code anyone builds a model in


@dataclass(frozen=True)
class Document:
    """A file of the repository as Python source; lines that are not code are blank. `uncommented`: the lines of
    commented-out code made code again (see with_commented_constructions)."""

    path: Path
    source: str
    uncommented: frozenset[int] = frozenset()

    @property
    def kind(self) -> str:
        return "code" if self.path.suffix == ".py" else "notebook" if self.path.suffix == ".ipynb" else "text"


def _looks_like_project(folder: Path) -> bool:
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    return any(n in PROJECT_MARKERS or n.upper().startswith(("README", "LICENSE")) or n.endswith(".py")
               for n in names)


def repository_root(path: Path) -> Path:
    """The folder the repository of `path` starts in (see the module docs)."""
    start = path.resolve()
    folder = start if start.is_dir() else start.parent
    home = Path.home().resolve()
    for candidate in [folder, *folder.parents]:
        if (candidate / ".git").exists() or any((candidate / name).is_file() for name in PROJECT_FILES):
            return candidate
        if candidate == home or candidate.parent == candidate:
            break
    root = below = folder
    for level, candidate in enumerate(folder.parents, start=1):
        if level > MOST_LEVELS or candidate == home or candidate.parent == candidate:
            break
        if _looks_like_project(candidate):
            root = candidate
        elif below != root or not _only_folders(candidate):
            break   # one folder of folders is passed, not a run of them (where projects are kept, temp folders)
        below = candidate
    return root


def _only_folders(folder: Path) -> bool:
    """A folder that holds folders and no file: a grouping folder of a project (`models/` around `definitions/`),
    or of projects; the climb passes it and looks further up."""
    try:
        with os.scandir(folder) as entries:
            return all(entry.is_dir() for entry in entries if not entry.name.startswith("."))
    except OSError:
        return False


def folders_up_to(folder: Path, root: Path) -> list[Path]:
    """`folder` and every folder above it up to `root`, nearest first: where a script in `folder` may be run from,
    so where its absolute imports resolve (a sub-project's `layers/` before the repository root's)."""
    folder, root = folder.resolve(), root.resolve()
    return [folder, *(p for p in folder.parents if p == root or root in p.parents)]


def _fenced_python(text: str) -> str:
    """The python code of a markdown or reStructuredText document, every other line blank (lines keep their
    numbers): fenced blocks tagged python/py (or untagged ones), `.. code-block:: python` blocks, `>>>` examples."""
    lines = text.splitlines()
    kept = [""] * len(lines)
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = re.match(r"\s*(```+|~~~+)\s*(\w*)", line)
        directive = re.match(r"(\s*)\.\. (?:code-block|code|sourcecode)::\s*(python|py|python3|pycon)?\s*$", line)
        if fence:
            closing, language = fence.group(1), fence.group(2).lower()
            end = next((j for j in range(index + 1, len(lines)) if lines[j].strip().startswith(closing)), len(lines))
            if language in ("python", "py", "python3", "pycon", "ipython", ""):
                indent = len(line) - len(line.lstrip())
                for j in range(index + 1, end):
                    # the fence's own indentation (a block inside a list item) is not the code's
                    kept[j] = _code_line(lines[j][indent:] if not lines[j][:indent].strip() else lines[j].lstrip())
            index = end + 1
        elif directive and directive.group(2):
            base = len(directive.group(1))
            j = index + 1
            body = []
            while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > base):
                body.append(j)
                j += 1
            indents = [len(lines[k]) - len(lines[k].lstrip()) for k in body if lines[k].strip()]
            strip = min(indents) if indents else 0
            for k in body:
                kept[k] = _code_line(lines[k][strip:])
            index = j
        elif line.lstrip().startswith(">>> ") or line.lstrip() == ">>>":
            kept[index] = _code_line(line.lstrip())
            index += 1
        else:
            index += 1
    return "\n".join(kept) + "\n"


def _code_line(line: str) -> str:
    """A line of an example as Python: `>>> x` and `... x` prompts dropped; shell and magic lines blank."""
    stripped = line.lstrip()
    if stripped.startswith((">>> ", "... ")) or stripped in (">>>", "..."):
        return stripped[4:]
    if stripped.startswith(("!", "%", "$ ", "pip ", "python ")):
        return ""
    return line


def read_document(path: Path) -> Document | None:
    """The document's code as Python source, or None (unreadable, too large)."""
    try:
        if path.stat().st_size > LARGEST_DOCUMENT:
            return None
        if path.suffix == ".ipynb":
            return Document(path, notebook_source(str(path))[0])
        text = path.read_text(encoding="utf-8", errors="replace")
    except (OSError, ValueError):
        return None
    return Document(path, text if path.suffix == ".py" else _fenced_python(text))


@functools.lru_cache(maxsize=8)
def document_paths(root: Path) -> tuple[Path, ...]:
    """Every .py file, notebook, README and docs page under `root` (hidden and environment folders skipped)."""
    return _files_under(root, CODE_DOCUMENTS + TEXT_DOCUMENTS, MOST_DOCUMENTS)


CONFIG_FILES = (".yaml", ".yml", ".json")
MOST_CONFIG_FILES = 500


@functools.lru_cache(maxsize=8)
def config_paths(root: Path) -> tuple[Path, ...]:
    """Every YAML and JSON file under `root` (hidden and environment folders skipped): the configurations a
    repository's scripts read."""
    return _files_under(root, CONFIG_FILES, MOST_CONFIG_FILES)


def _files_under(root: Path, suffixes: tuple[str, ...], most: int) -> tuple[Path, ...]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_FOLDERS
                         and not (Path(folder) / d / "pyvenv.cfg").exists())
        found += [Path(folder) / name for name in sorted(files) if os.path.splitext(name)[1].lower() in suffixes]
        if len(found) > most:
            break
    return tuple(found)


def distance(a: Path, b: Path) -> int:
    """Folders between two folders: how far a document is from the model's file."""
    a_parts, b_parts = a.parts, b.parts
    common = 0
    for x, y in zip(a_parts, b_parts):
        if x != y:
            break
        common += 1
    return len(a_parts) - common + len(b_parts) - common


@functools.lru_cache(maxsize=4096)
def _cached_document(path: Path, mtime: float) -> Document | None:
    return read_document(path)


def documents_mentioning(file: Path, words: frozenset[str]) -> Iterator[Document]:
    """The repository's documents whose code mentions one of `words`, nearest to `file` first: the file itself,
    then by folder distance, code before notebooks before text at the same distance."""
    file = file.resolve()
    root = repository_root(file)
    order = {"code": 0, "notebook": 1, "text": 2}
    paths = sorted(document_paths(root), key=lambda p: (p != file, distance(file.parent, p.parent),
                                                         order[_kind(p)], str(p)))
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(words))) + r")\b") if words else None
    for path in paths:
        try:
            document = _cached_document(path, path.stat().st_mtime)
        except OSError:
            continue
        if document is not None and (pattern is None or pattern.search(document.source)):
            yield document


# `# net = VGG('VGG19')`: a statement building something, kept as a comment
_COMMENTED_CONSTRUCTION = re.compile(r"^(?P<indent>[ \t]*)#[ \t]?(?P<code>[A-Za-z_][\w.]*[ \t]*=[ \t]*[A-Za-z_][\w.]*\(.*\))[ \t]*$")
MOST_COMMENTED_LINES = 20


def with_commented_constructions(document: Document, names: frozenset[str]) -> Document | None:
    """The code document with its commented-out constructions that call one of `names` made code again, each
    where it stands (`# net = VGG('VGG19')` beside the line that builds the model chosen, a smoke test left
    commented at the bottom of a model file): how the author built the models they did not choose. None when it
    has none. A line is made code only where the document still parses with it."""
    if document.kind != "code" or "#" not in document.source:
        return None
    lines = document.source.splitlines(keepends=True)
    uncommented: set[int] = set()
    for index, line in enumerate(lines):
        match = _COMMENTED_CONSTRUCTION.match(line)
        if match is None or len(uncommented) >= MOST_COMMENTED_LINES or \
                not any(re.search(rf"\b{re.escape(name)}\s*\(", match["code"]) for name in names):
            continue
        original, lines[index] = line, f"{match['indent']}{match['code']}\n"
        try:
            ast.parse("".join(lines))
        except (SyntaxError, ValueError):
            lines[index] = original
            continue
        uncommented.add(index + 1)
    if not uncommented:
        return None
    return Document(document.path, "".join(lines), frozenset(uncommented))


@functools.lru_cache(maxsize=16)
def file_names(root: Path) -> frozenset[str]:
    """The names of the files the repository holds, in any of its folders (up to MOST_DOCUMENTS * 10 files)."""
    names: set[str] = set()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [f for f in subfolders if f not in SKIPPED_FOLDERS and not f.startswith(".")]
        names.update(files)
        if len(names) > MOST_DOCUMENTS * 10:
            break
    return frozenset(names)


def folder_holding(relative: str | None, folders: Sequence[Path]) -> Path | None:
    """The first of the folders a script may be run from (its own, the repository's root) in which the relative
    path exists, other than the working directory (where it did not); None if none has it."""
    if relative is None:
        return None
    return next((f for f in dict.fromkeys(folders) if f != Path.cwd() and (f / relative).exists()), None)


def _kind(path: Path) -> str:
    return "code" if path.suffix == ".py" else "notebook" if path.suffix == ".ipynb" else "text"


__all__ = ["Document", "with_commented_constructions", "config_paths", "distance", "document_paths", "documents_mentioning", "file_names", "folder_holding", "read_document",
           "repository_root"]

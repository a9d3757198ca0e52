"""How a place in the user's code is shown and read: paths relative to the working folder, notebook cells, the
syntax tree of one function."""
from __future__ import annotations

import ast
import inspect
import os
import textwrap
from typing import Any


def display_path(path: str) -> str:
    """A path as the user should read it: relative to the working directory when it is below it."""
    if not os.path.isabs(path):
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith(".." + os.sep + "..") else relative



def function_definition(function: Any) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The syntax tree of a function's own source (decorators unwrapped), or None when it has none to read."""
    function = inspect.unwrap(function) if inspect.isfunction(function) else function
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    first = tree.body[0] if tree.body else None
    return first if isinstance(first, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


# -- notebooks ---------------------------------------------------------------------------------------

_MAGIC = ("%", "!", "?")


def is_main_guard(statement: ast.stmt) -> bool:
    """`if __name__ == "__main__":`"""
    return isinstance(statement, ast.If) and "__main__" in ast.unparse(statement.test) \
        and "__name__" in ast.unparse(statement.test)


def notebook_source(path: str) -> tuple[str, list[tuple[int, int]]]:
    """A .ipynb file's code cells as one Python source, and for each of its lines (cell number, line in cell),
    both counted from 1. IPython magics and shell lines become blank lines (line numbers stay put)."""
    import json

    with open(path, encoding="utf-8") as handle:
        cells = json.load(handle).get("cells", [])
    lines: list[str] = []
    positions: list[tuple[int, int]] = []
    for number, cell in enumerate(cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        text = cell.get("source", "")
        text = "".join(text) if isinstance(text, list) else str(text)
        for offset, line in enumerate(text.splitlines(), start=1):
            lines.append("" if line.lstrip().startswith(_MAGIC) else line)
            positions.append((number, offset))
        lines.append("")                    # cells end with a newline of their own
        positions.append((number, len(text.splitlines()) + 1))
    return "\n".join(lines) + "\n", positions


def source_position(file: str, line: int) -> str:
    """`file:line`, or `notebook.ipynb:cell 3:line 5` for a line of a notebook's joined code cells."""
    shown = display_path(file)
    if file.endswith(".ipynb"):
        try:
            cell, in_cell = notebook_source(file)[1][line - 1]
        except (OSError, ValueError, IndexError):
            return f"{shown}:{line}"
        return f"{shown}:cell {cell}:line {in_cell}"
    return f"{shown}:{line}"

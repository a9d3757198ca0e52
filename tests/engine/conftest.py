"""Helpers for the engine's front-end tests: write model files, run the CLI in-process."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from cli_support import HERE, NO_ENTRY_POINTS, PLUGIN  # noqa: F401  (re-exported to the tests)


@pytest.fixture(autouse=True)
def _plugin_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """write("net.py", source) -> path; the source is dedented."""
    def _write(name: str, source: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
        return path
    return _write


class CliResult:
    def __init__(self, code: int, out: str, err: str):
        self.code, self.out, self.err = code, out, err

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path) -> Callable[..., CliResult]:
    """cli("check", "net.py", ...) runs `archlint` in-process in tmp_path with the test plugin only."""
    from archlint.cli import main

    def run(*args: str, plugins: bool = True, cwd: Path | None = None) -> CliResult:
        monkeypatch.chdir(cwd or tmp_path)
        argv = list(args)
        if plugins and argv and argv[0] in ("check", "rules", "explain"):
            argv[1:1] = PLUGIN
        code = main(argv)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
    return run

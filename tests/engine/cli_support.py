"""Constants the engine's CLI tests share (a plain module: `conftest` names are ambiguous across folders)."""
from __future__ import annotations

import importlib.metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Entry-point plugins (built-in rules) are switched off so results depend only on the test plugin.
NO_ENTRY_POINTS = [f"--plugin=no:{ep.name}" for ep in importlib.metadata.entry_points(group="archlint")]
PLUGIN = ["-p", "archlint_test_plugin", *NO_ENTRY_POINTS]

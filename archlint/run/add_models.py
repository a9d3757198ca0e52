"""`archlint check --add-models`: a `models` entry in the config for every model no code could build.

ruff's `--add-noqa` is the model: the run says what it could not do, and this writes the smallest edit that lets the
user finish the job. Each entry names the model and its required arguments with placeholders
(`dims: "<fill in: ModelDimensions>"`); the second run is the user filling in values, and until they do, the
config check names each placeholder left. Entries go into the config the run used (an `archlint.yaml` or the
`[tool.archlint]` table of a pyproject.toml, appended as text so the user's comments and layout stay), or into a
new `archlint.yaml` in the current folder when there is none. A target that already has an entry is not added twice.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from archlint.plugin.results import Report, UnbuiltModel

PLACEHOLDER = "<fill in{}>"
_PLACEHOLDER = re.compile(r"^<fill in(: .*)?>$")


def is_placeholder(value: object) -> bool:
    """A value `--add-models` wrote for the user to replace."""
    return isinstance(value, str) and bool(_PLACEHOLDER.match(value))


def unbuilt_models(report: Report) -> list[UnbuiltModel]:
    """Every model of the run that needs arguments nothing supplied, once each, in report order."""
    found: dict[str, UnbuiltModel] = {}
    for error in [*report.errors, *report.skipped]:
        for model in error.unbuilt:
            found.setdefault(model.target, model)
    for model_report in report.models:
        for note in model_report.notes:
            if note.unbuilt is not None:
                found.setdefault(note.unbuilt.target, note.unbuilt)
    return list(found.values())


@dataclass(frozen=True)
class AddedModels:
    config: Path
    added: tuple[str, ...]      # targets written
    present: tuple[str, ...]    # targets the config had already
    problem: str | None = None  # why nothing could be written (the entries are then printed instead)
    text: str = ""              # what was (or would have been) written


def add_models(report: Report, config: Path | None, cwd: Path) -> AddedModels:
    """Write an entry for each unbuilt model of the report (see the module docs)."""
    path = config if config is not None else cwd / "archlint.yaml"
    base = path.resolve().parent
    existing = _existing_targets(path)
    models = [m for m in unbuilt_models(report) if _relative(m.target, base) not in existing]
    present = tuple(m.target for m in unbuilt_models(report) if _relative(m.target, base) in existing)
    if not models:
        return AddedModels(path, (), present)
    if path.name == "pyproject.toml":
        text = "".join(_toml_entry(m, base) for m in models)
        problem = _toml_problem(path)
    else:
        text = "".join(_yaml_entry(m, base) for m in models)
        text, problem = _into_yaml(path, text)
    if problem is None:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
    return AddedModels(path, tuple(m.target for m in models) if problem is None else (), present, problem, text)


def _relative(target: str, base: Path) -> str:
    where, _, attr = target.rpartition(":")
    if where.endswith((".py", ".ipynb")):
        where = os.path.relpath(os.path.abspath(where), base)
    return f"{where}:{attr}"


def _existing_targets(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    try:
        if path.name == "pyproject.toml":
            import tomllib

            data = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("archlint", {})
        else:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except Exception:   # a broken config is the config check's to report; nothing is known to be present
        return set()
    models = data.get("models") if isinstance(data, dict) else None
    return {str(m.get("target")) for m in models if isinstance(m, dict)} if isinstance(models, list) else set()


def _placeholder(annotation: str | None) -> str:
    return PLACEHOLDER.format(f": {annotation}" if annotation else "")


def _yaml_entry(model: UnbuiltModel, base: Path) -> str:
    lines = [f"  - target: {json.dumps(_relative(model.target, base))}\n"]
    lines.append("    kwargs:\n")
    for name, annotation in model.parameters:
        lines.append(f"      {name}: \"{_placeholder(annotation)}\"\n")
    return "".join(lines)


def _into_yaml(path: Path, entries: str) -> tuple[str, str | None]:
    """The text to append to an archlint.yaml: a new `models:` list, or items of the one that ends the file."""
    if not path.is_file():
        return "# written by `archlint check --add-models`: replace each <fill in> with the argument's value\n" \
               "models:\n" + entries, None
    text = path.read_text(encoding="utf-8")
    lines = text.rstrip("\n").splitlines()
    keys = [i for i, line in enumerate(lines) if re.match(r"^[A-Za-z_-]+\s*:", line)]
    models = next((i for i in keys if lines[i].startswith("models")), None)
    separator = "" if text.endswith("\n") or not text else "\n"
    if models is None:
        return f"{separator}models:\n{entries}", None
    if lines[models].split(":", 1)[1].strip():
        return entries, f"{path.name}'s models list is written inline (models: [...]); add these entries by hand"
    if models != keys[-1]:
        return entries, (f"{path.name}'s models list is not its last key, so the entries cannot be appended; move it "
                         f"last or add these entries by hand")
    return separator + entries, None


def _toml_entry(model: UnbuiltModel, base: Path) -> str:
    arguments = ", ".join(f"{name} = \"{_placeholder(annotation)}\"" for name, annotation in model.parameters)
    return (f"\n[[tool.archlint.models]]   # written by `archlint check --add-models`\n"
            f"target = \"{_relative(model.target, base)}\"\n"
            f"kwargs = {{ {arguments} }}\n")


def _toml_problem(path: Path) -> str | None:
    text = path.read_text(encoding="utf-8")
    table = re.search(r"^\[tool\.archlint\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
    if table and re.search(r"^\s*models\s*=", table.group(1), re.M):
        return "pyproject.toml's [tool.archlint] sets models inline (models = [...]); add these entries by hand"
    return None


__all__ = ["AddedModels", "add_models", "is_placeholder", "unbuilt_models"]

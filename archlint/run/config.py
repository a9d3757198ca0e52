"""Configuration: `[tool.archlint]` in pyproject.toml, or `archlint.yaml` / `.archlint.yaml`.

The nearest file wins, searched upward from the target's directory (then the current directory);
a pyproject.toml without a `[tool.archlint]` table is skipped. Keys are kebab-case. Everything is
validated against the installed rules: an unknown key, rule code, rule name, option or value is a
`ConfigError` naming the file and the key. Command-line flags override file values (`resolve`).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import yaml

from archlint.load.device import DEFAULT_META_ABOVE, DEVICES
from archlint.load.inputs import parse_dtype, parse_input_shapes
from archlint.load.options import ModelEntry
from archlint.load.targets import split_target
from archlint.plugin.findings import Severity
from archlint.plugin.rule import Rule
from archlint.run.add_models import is_placeholder
from archlint.analysis.race import LOSSES, RaceSettings, named_data
from archlint.run.runner import RunOptions
from archlint.run.selection import Selection, unknown_selectors

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

YAML_NAMES = ("archlint.yaml", ".archlint.yaml")
TOP_LEVEL_KEYS = ("select", "extend-select", "ignore", "fail-on", "severity", "rules", "models", "probe",
                  "device", "meta-above", "paths", "show-all", "race", "race-budget", "data", "loss")
# archlint.check(model, **settings) and the pytest fixture take the same settings as keyword arguments
# (one model, so no paths or models); `rule_options` is the keyword for the `rules` table.
KEYWORD_SETTINGS = {"select": "select", "extend_select": "extend-select", "ignore": "ignore", "fail_on": "fail-on",
                    "severity": "severity", "rule_options": "rules", "probe": "probe", "device": "device",
                    "meta_above": "meta-above", "show_all": "show-all", "race": "race", "race_budget": "race-budget",
                    "data": "data", "loss": "loss"}
MODEL_KEYS = ("target", "input-shape", "dtype", "kwargs", "name", "ignore")


class ConfigError(ValueError):
    """A configuration problem; the message names the file (or `archlint.check()`) and the key."""


class UnknownRule(ConfigError):
    """A selector or key that names no installed rule (perhaps one of a plugin that failed to load)."""


@dataclass
class Settings:
    """A run's settings: file values with command-line overrides applied."""

    # "auto": models above meta-above parameters are built on the meta device (archlint.load.device)
    run: RunOptions = field(default_factory=lambda: RunOptions(device="auto"))
    fail_on: Severity = Severity.WARNING
    models: list[ModelEntry] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    input_shapes: tuple[tuple[int, ...], ...] = ()   # --input-shape: every model of the run
    dtype: str | None = None
    meta_above: int = DEFAULT_META_ABOVE
    source: Path | None = None                        # the config file used, if any


@dataclass
class Overrides:
    """What the command line says; None means "not given" (the file value stays)."""

    select: list[str] | None = None
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    fail_on: str | None = None
    probe: bool | None = None
    device: str | None = None
    show_all: bool = False
    input_shapes: tuple[tuple[int, ...], ...] = ()
    dtype: str | None = None
    race: bool = False
    race_budget: float | None = None
    data: str | None = None
    loss: str | None = None


# -- finding and reading files ------------------------------------------------------------------------

def _has_archlint_table(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        # A broken pyproject.toml that does not mention us is not our problem; one that does is.
        text = pyproject.read_text(encoding="utf-8", errors="replace") if pyproject.is_file() else ""
        return "[tool.archlint" in text
    return isinstance(data.get("tool"), dict) and "archlint" in data["tool"]


def find_config(start: Path) -> Path | None:
    """The nearest archlint.yaml / .archlint.yaml / pyproject.toml with [tool.archlint], upward from `start`."""
    start = start.resolve()
    directory = start if start.is_dir() else start.parent
    for folder in (directory, *directory.parents):
        for name in YAML_NAMES:
            if (folder / name).is_file():
                return folder / name
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_archlint_table(pyproject):
            return pyproject
    return None


def read_config_file(path: Path) -> dict[str, Any]:
    """The archlint table of a file as a dict; malformed files are a ConfigError with the position."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: config file is not UTF-8 text") from None
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: malformed TOML: {exc}") from None
        table = data.get("tool", {}).get("archlint") if isinstance(data.get("tool"), dict) else None
        if path.name == "pyproject.toml":
            if table is None:
                raise ConfigError(f"{path}: no [tool.archlint] table")
        else:
            table = table if table is not None else data
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.archlint] must be a table")
        return table
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of archlint settings, got {type(data).__name__}")
    return data


# -- validating ------------------------------------------------------------------------------------------

@dataclass
class _Checker:
    """Validates values of one file; every error names the file and the key path."""

    path: Path | None     # the file, or None for keyword settings
    rules: Sequence[Rule]
    label: str = ""        # how errors name where the settings came from

    def fail(self, key: str, problem: str) -> ConfigError:
        if self.path is None:
            return ConfigError(f"{self.label}: setting {key}: {problem}")
        table = "[tool.archlint] " if self.path.name == "pyproject.toml" else ""
        return ConfigError(f"{self.path}: {table}{key}: {problem}")

    def unknown_rule(self, key: str, selector: str) -> UnknownRule:
        return UnknownRule(str(self.fail(key, unknown_rule_message(selector, self.rules))))

    def string_list(self, key: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of strings, got {value!r}")
        return [v.strip() for v in value]

    def selectors(self, key: str, value: Any) -> list[str]:
        selectors = self.string_list(key, value)
        unknown = unknown_selectors(selectors, self.rules)
        if unknown:
            raise self.unknown_rule(key, unknown[0])
        return selectors

    def level(self, key: str, value: Any) -> Severity:
        try:
            return Severity.parse(value) if isinstance(value, str) else Severity.parse("?")
        except ValueError:
            raise self.fail(key, f"unknown severity {value!r} (expected info, warning or error)") from None

    def boolean(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {value!r}")
        return value


def unknown_rule_message(selector: str, rules: Iterable[Rule]) -> str:
    known = ", ".join(f"{r.code} {r.name}" for r in rules) or "none installed"
    return f"unknown rule code or name {selector!r} (installed rules: {known})"


def _rule_by_key(key: str, rules: Sequence[Rule]) -> Rule | None:
    return next((r for r in rules if key in (r.name, r.code)), None)


def _rule_options(check: _Checker, value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise check.fail("rules", f"expected a table of rule names, got {value!r}")
    resolved: dict[str, dict[str, Any]] = {}
    for rule_key, options in value.items():
        rule = _rule_by_key(rule_key, check.rules)
        if rule is None:
            raise check.unknown_rule(f"rules.{rule_key}", rule_key)
        if not isinstance(options, dict):
            raise check.fail(f"rules.{rule_key}", f"expected a table of options, got {options!r}")
        known = {o.name: o for o in rule.options}
        for option_key, option_value in options.items():
            option = known.get(option_key.replace("-", "_"))
            if option is None:
                names = ", ".join(o.name.replace("_", "-") for o in rule.options) or "none"
                raise check.fail(f"rules.{rule_key}.{option_key}",
                                 f"unknown option of {rule.name} (its options: {names})")
            try:
                resolved.setdefault(rule.name, {})[option.name] = option.coerce(option_value)
            except ValueError as exc:
                raise check.fail(f"rules.{rule_key}.{option_key}", str(exc)) from None
    return resolved


def _severity_overrides(check: _Checker, value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise check.fail("severity", f"expected a table of code or name = level, got {value!r}")
    known = {c for r in check.rules for c in (r.name, *r.all_codes())}
    overrides = {}
    for key, level in value.items():
        if key not in known:
            raise check.unknown_rule(f"severity.{key}", key)
        overrides[key] = str(check.level(f"severity.{key}", level))
    return overrides


def _model_entry(check: _Checker, index: int, value: Any) -> ModelEntry:
    where = f"models[{index}]"
    if not isinstance(value, dict):
        raise check.fail(where, f"expected a table with a target, got {value!r}")
    for key in value:
        if key not in MODEL_KEYS:
            raise check.fail(f"{where}.{key}", f"unknown key (allowed: {', '.join(MODEL_KEYS)})")
    target = value.get("target")
    if not isinstance(target, str) or not target.strip():
        raise check.fail(f"{where}.target", "every models entry needs a target string (file.py, file.py:attr "
                                            "or package.module:attr)")
    entry = ModelEntry(target=target.strip(), base_dir=str(check.path.resolve().parent))
    if "input-shape" in value:
        try:
            entry = dataclasses.replace(entry, input_shapes=parse_input_shapes(value["input-shape"]))
        except ValueError as exc:
            raise check.fail(f"{where}.input-shape", str(exc)) from None
    if "dtype" in value:
        try:
            parse_dtype(value["dtype"])
        except ValueError as exc:
            raise check.fail(f"{where}.dtype", str(exc)) from None
        entry = dataclasses.replace(entry, dtype=str(value["dtype"]))
    if "kwargs" in value:
        if not isinstance(value["kwargs"], dict):
            raise check.fail(f"{where}.kwargs", f"expected a table of constructor arguments, got {value['kwargs']!r}")
        if ":" not in target:
            raise check.fail(f"{where}.kwargs", "kwargs need a target naming one class or factory (file.py:Name)")
        for name, given in value["kwargs"].items():
            if is_placeholder(given):
                raise check.fail(f"{where}.kwargs.{name}", f"still the placeholder {given!r} that `archlint check "
                                                           f"--add-models` wrote: replace it with the argument's value")
        entry = dataclasses.replace(entry, kwargs=tuple(sorted(value["kwargs"].items())))
    if "name" in value:
        if not isinstance(value["name"], str):
            raise check.fail(f"{where}.name", f"expected a string, got {value['name']!r}")
        entry = dataclasses.replace(entry, name=value["name"])
    if "ignore" in value:
        entry = dataclasses.replace(entry, ignore=tuple(check.selectors(f"{where}.ignore", value["ignore"])))
    return entry


def _conflict(check: _Checker, chosen: Iterable[str], ignored: Iterable[str], key: str = "ignore") -> None:
    both = sorted(set(chosen) & set(ignored))
    if both:
        raise check.fail(key, f"{both[0]!r} is both selected and ignored; keep it in one list")


def keyword_settings(keywords: Mapping[str, Any], rules: Sequence[Rule], label: str = "archlint.check()") -> Settings:
    """`archlint.check(**settings)`: the same validation as a config file, with keyword names."""
    check = _Checker(None, rules, label)
    for key in keywords:
        if key not in KEYWORD_SETTINGS:
            raise ConfigError(f"{label}: unknown setting {key!r} (valid: {', '.join(KEYWORD_SETTINGS)})")
    return _validated({KEYWORD_SETTINGS[k]: v for k, v in keywords.items()}, check)


def parse_config(raw: Mapping[str, Any], path: Path, rules: Sequence[Rule]) -> Settings:
    """Validate a file's archlint table against the installed rules and turn it into Settings."""
    check = _Checker(path, rules)
    for key in raw:
        if key not in TOP_LEVEL_KEYS:
            hint = f"; did you mean {key.replace('_', '-')!r}?" if key.replace("_", "-") in TOP_LEVEL_KEYS else ""
            raise check.fail(key, f"unknown key (allowed: {', '.join(TOP_LEVEL_KEYS)}){hint}")
    return _validated(raw, check)


def _validated(raw: Mapping[str, Any], check: _Checker) -> Settings:
    """Settings from a validated table (a file's, or keyword settings translated to file keys)."""
    path = check.path
    settings = Settings(source=path)
    selection = settings.run.selection
    if "select" in raw:
        selection.select = check.selectors("select", raw["select"])
    if "extend-select" in raw:
        selection.extend_select = check.selectors("extend-select", raw["extend-select"])
    if "ignore" in raw:
        selection.ignore = check.selectors("ignore", raw["ignore"])
    _conflict(check, [*selection.select, *selection.extend_select], selection.ignore)
    if "fail-on" in raw:
        settings.fail_on = check.level("fail-on", raw["fail-on"])
    if "severity" in raw:
        settings.run.severity_overrides = _severity_overrides(check, raw["severity"])
    if "rules" in raw:
        settings.run.rule_options = _rule_options(check, raw["rules"])
    if "probe" in raw:
        settings.run.probe = check.boolean("probe", raw["probe"])
    if "show-all" in raw:
        settings.run.show_all = check.boolean("show-all", raw["show-all"])
    if "device" in raw:
        if raw["device"] not in (*DEVICES, "cuda"):
            raise check.fail("device", f"expected one of {', '.join(DEVICES)}, cuda, got {raw['device']!r}")
        settings.run.device = raw["device"]
    settings.run.race = _race_settings(check, raw)
    if "meta-above" in raw:
        value = raw["meta-above"]
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise check.fail("meta-above", f"expected a parameter count (a non-negative integer), got {value!r}")
        settings.meta_above = value
    if "paths" in raw:
        settings.paths = [str(path.resolve().parent / p) for p in check.string_list("paths", raw["paths"])]
    if "models" in raw:
        if not isinstance(raw["models"], list):
            raise check.fail("models", f"expected a list of tables, got {raw['models']!r}")
        settings.models = [_model_entry(check, i, v) for i, v in enumerate(raw["models"])]
    return settings


def _race_settings(check: _Checker, raw: Mapping[str, Any]) -> RaceSettings | None:
    """`race = true` with its budget, data and loss; None when no race is asked for."""
    for key in ("race-budget", "data", "loss"):
        if key in raw and not raw.get("race"):
            raise check.fail(key, "is a setting of the race: set race = true (--race) too")
    if not raw.get("race"):
        if "race" in raw:
            check.boolean("race", raw["race"])
        return None
    check.boolean("race", raw["race"])
    race = RaceSettings()
    if "race-budget" in raw:
        budget = raw["race-budget"]
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget <= 0:
            raise check.fail("race-budget", f"expected seconds (a positive number), got {budget!r}")
        race = dataclasses.replace(race, budget_seconds=float(budget))
    if "loss" in raw:
        if raw["loss"] not in LOSSES:
            raise check.fail("loss", f"expected one of {', '.join(LOSSES)}, got {raw['loss']!r}")
        race = dataclasses.replace(race, loss=raw["loss"])
    if "data" in raw:
        data = raw["data"]
        if callable(data):        # the Python API and the fixture may pass the function itself
            race = dataclasses.replace(race, data=data, data_name=getattr(data, "__qualname__", repr(data)))
        elif isinstance(data, str) and ":" in data:
            race = dataclasses.replace(race, data=named_data(data, check.path.parent if check.path else None),
                                       data_name=data)
        else:
            raise check.fail("data", f"expected module:function (or path/file.py:function) returning (inputs, "
                                     f"targets) batches, got {data!r}")
    return race


def load_settings(config_path: Path | None, rules: Sequence[Rule]) -> Settings:
    """Settings from `config_path` (validated), or the defaults when there is no file."""
    if config_path is None:
        return Settings()
    if not config_path.is_file():
        raise ConfigError(f"{config_path}: config file not found")
    return parse_config(read_config_file(config_path), config_path, rules)


def configured_targets(settings: Settings) -> list[str]:
    """The config's `paths` and `models` targets (when the command line gives none)."""
    targets = list(settings.paths)
    for entry in settings.models:
        where, attr = split_target(entry.target)
        if where.endswith(".py") and not os.path.isabs(where):
            where = os.path.join(entry.base_dir, where)
        targets.append(f"{where}:{attr}" if attr else where)
    if not targets:
        raise ConfigError("no targets: give a .py file, a directory, file.py:Name or package.module:Name "
                          "(or set paths / models in the config)")
    return targets


# -- command-line overrides -------------------------------------------------------------------------------

def _check_cli_selectors(flag: str, selectors: Sequence[str], rules: Sequence[Rule]) -> None:
    unknown = unknown_selectors(selectors, rules)
    if unknown:
        raise UnknownRule(f"{flag}: {unknown_rule_message(unknown[0], rules)}")


def resolve(settings: Settings, overrides: Overrides, rules: Sequence[Rule]) -> Settings:
    """Apply command-line flags: --select replaces, --extend-select and --ignore add to the file's lists.

    A code the command line selects by exactly its name drops out of the file's ignore list, so the
    command line wins over the file.
    """
    _check_cli_selectors("--select", overrides.select or [], rules)
    _check_cli_selectors("--extend-select", overrides.extend_select, rules)
    _check_cli_selectors("--ignore", overrides.ignore, rules)
    cli_chosen = [*(overrides.select or []), *overrides.extend_select]
    both = sorted(set(cli_chosen) & set(overrides.ignore))
    if both:
        raise ConfigError(f"--ignore: {both[0]!r} is both selected and ignored on the command line")
    file_selection = settings.run.selection
    selection = Selection(
        select=list(overrides.select) if overrides.select is not None else list(file_selection.select),
        extend_select=[*file_selection.extend_select, *overrides.extend_select],
        ignore=[s for s in file_selection.ignore if s not in cli_chosen] + list(overrides.ignore),
    )
    run = dataclasses.replace(
        settings.run, selection=selection,
        probe=settings.run.probe if overrides.probe is None else overrides.probe,
        device=overrides.device or settings.run.device,
        show_all=overrides.show_all or settings.run.show_all,
        race=_race_overridden(settings.run.race, overrides),
    )
    if run.device == "cuda":
        # the lint measures on the CPU; --device cuda is where the race trains
        run = dataclasses.replace(run, device="auto", race=dataclasses.replace(run.race, device=_cuda())
                                  if run.race else None)
    fail_on = settings.fail_on
    if overrides.fail_on is not None:
        try:
            fail_on = Severity.parse(overrides.fail_on)
        except ValueError as exc:
            raise ConfigError(f"--fail-on: {exc}") from None
    return dataclasses.replace(settings, run=run, fail_on=fail_on, input_shapes=overrides.input_shapes,
                               dtype=overrides.dtype)


def _cuda() -> str:
    import torch

    if not torch.cuda.is_available():
        raise ConfigError("--device cuda: no CUDA GPU is available on this machine (the race trains on the cpu "
                          "without it)")
    return "cuda"


def _race_overridden(race: RaceSettings | None, overrides: Overrides) -> RaceSettings | None:
    """The command line's race flags over the file's."""
    given = overrides.race or overrides.race_budget is not None or overrides.data or overrides.loss
    if not given:
        return race
    if not overrides.race and race is None:
        raise ConfigError("--race-budget, --data and --loss are settings of the race: add --race")
    race = race or RaceSettings()
    if overrides.race_budget is not None:
        race = dataclasses.replace(race, budget_seconds=overrides.race_budget)
    if overrides.loss:
        race = dataclasses.replace(race, loss=overrides.loss)
    if overrides.data:
        if ":" not in overrides.data:
            raise ConfigError(f"--data: expected module:function (or path/file.py:function), got {overrides.data!r}")
        race = dataclasses.replace(race, data=named_data(overrides.data, Path.cwd()), data_name=overrides.data)
    return race


__all__ = ["UnknownRule", "ConfigError", "ModelEntry", "Overrides", "Settings", "find_config", "load_settings", "parse_config",
           "parse_dtype", "parse_input_shapes", "read_config_file", "resolve"]

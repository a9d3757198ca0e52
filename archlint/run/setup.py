"""How every front-end starts a run: the command line, the Python API and the pytest plugin share these steps.

`open_run` checks the environment's settings and builds the run's one plugin host; `plan_run` reads the
configuration (file, then the front-end's overrides, one validation path) and expands the targets. What
could not be loaded (a plugin, a target) comes back as `TargetError`s, for the report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from archlint.load.targets import ModelSpec, expand_targets, split_target
from archlint.mechanics.tensors import memory_budget
from archlint.plugin.host import PluginChoice, PluginHost, build_plugin_host
from archlint.plugin.results import ErrorKind, TargetCause, TargetError
from archlint.run.config import (
    Overrides,
    UnknownRule,
    Settings,
    configured_targets,
    find_config,
    load_settings,
    resolve,
)


def open_run(choice: PluginChoice = PluginChoice(), extra_plugins: Sequence[Any] = ()) -> PluginHost:
    """The run's plugin host. Raises ValueError for a malformed ARCHLINT_MEMORY_BUDGET (before any work) and
    PluginImportError for a `-p` module that cannot be imported."""
    memory_budget()
    return build_plugin_host(choice, extra_plugins)


def plugin_errors(host: PluginHost) -> list[TargetError]:
    """The plugins that failed to load, as report errors (the other plugins' rules still run)."""
    return [TargetError(e.plugin, e.error, ErrorKind.PLUGIN, TargetCause.PLUGIN) for e in host.load_errors]


def config_for(targets: Sequence[str], explicit: Path | None = None) -> Path | None:
    """`explicit` (--config), else the nearest config above the first target, else above the working folder."""
    if explicit is not None:
        return explicit
    if targets:
        where, _ = split_target(targets[0])
        if Path(where).exists():
            found = find_config(Path(where))
            if found is not None:
                return found
    return find_config(Path.cwd())


@dataclass
class RunPlan:
    """What a run over targets lints: its settings, the model specs, and what could not be loaded."""

    settings: Settings
    specs: list[ModelSpec]
    errors: list[TargetError] = field(default_factory=list)


def plan_run(host: PluginHost, config_path: Path | None, overrides: Overrides,
             targets: Sequence[str] = ()) -> RunPlan:
    """Settings from the config file and `overrides`, and the specs of `targets` (else of the config's `paths`
    and `models`). Raises ConfigError for a bad configuration."""
    try:
        settings = resolve(load_settings(config_path, host.rules), overrides, host.rules)
    except UnknownRule as exc:
        if host.load_errors:   # the rule asked for may be one a plugin that failed to load would have given
            raise UnknownRule(f"{exc}; plugin(s) that failed to load: "
                              + "; ".join(f"{e.plugin}: {e.error}" for e in host.load_errors)) from None
        raise
    specs, errors = expand_targets(list(targets) or configured_targets(settings))
    return RunPlan(settings, specs, [*plugin_errors(host), *errors])


__all__ = ["RunPlan", "config_for", "open_run", "plan_run", "plugin_errors"]

"""The plugin manager, set up in one place.

Built-in rules and report formats are plugins in the `archlint` entry-point group, loaded
exactly like third-party plugins. A plugin that fails to import is recorded (and reported by the
CLI as a load error naming the entry point) instead of taking the whole run down.
"""
from __future__ import annotations

import importlib.metadata
import os
import re
from dataclasses import dataclass, field
from typing import Any

import pluggy

from archlint import hookspecs
from archlint.rule import Rule

ENTRY_POINT_GROUP = "archlint"
DISABLE_AUTOLOAD_ENV = "ARCHLINT_DISABLE_PLUGIN_AUTOLOAD"
_THIS_DISTRIBUTION = "archlint"

hookimpl = pluggy.HookimplMarker("archlint")

# Plugins that are part of the engine rather than of a lesson (report formats); registered
# through the same `register` path as entry-point plugins.
ENGINE_PLUGINS = ("archlint.formats", "archlint.sarif", "archlint.github_format", "archlint.html_report")


@dataclass
class PluginLoadError:
    plugin: str
    error: str


@dataclass
class PluginHost:
    manager: pluggy.PluginManager
    load_errors: list[PluginLoadError] = field(default_factory=list)
    rule_plugins: dict[str, str] = field(default_factory=dict)   # rule code -> name of the plugin providing it
    rule_plugins: dict[str, str] = field(default_factory=dict)   # rule code -> plugin that provided it

    def rules(self) -> list[Rule]:
        """All rules from all plugins, sorted by code. A plugin's hook that raises is a load error."""
        found: list[Rule] = []
        for impl in self.manager.hook.archlint_rules.get_hookimpls():
            try:
                provided = impl.function()
            except Exception as exc:  # a broken plugin must not hide the others' rules
                self.load_errors.append(PluginLoadError(impl.plugin_name, f"archlint_rules raised {exc!r}"))
                continue
            for rule in provided or ():
                if isinstance(rule, type) and issubclass(rule, Rule):
                    rule = rule()
                if not isinstance(rule, Rule):
                    self.load_errors.append(PluginLoadError(impl.plugin_name, f"returned {rule!r}, not a Rule"))
                    continue
                missing = [a for a in ("code", "name") if not isinstance(getattr(rule, a, None), str)]
                if missing:  # sorting and selection need both; one bad rule must not stop the others
                    self.load_errors.append(PluginLoadError(
                        impl.plugin_name, f"rule {type(rule).__name__} has no {' or '.join(missing)}; skipped"))
                    continue
                self.rule_plugins[rule.code] = impl.plugin_name
                found.append(rule)
                self.rule_plugins[rule.code] = impl.plugin_name
        return sorted(found, key=lambda r: r.code)

    def report_formats(self) -> dict[str, Any]:
        formats: dict[str, Any] = {}
        for provided in self.manager.hook.archlint_report_formats():
            formats.update(provided or {})
        return formats


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    if os.environ.get(DISABLE_AUTOLOAD_ENV):
        points = [ep for ep in points if ep.dist is not None and ep.dist.name == _THIS_DISTRIBUTION]
    # A distribution installed twice (e.g. editable + wheel) lists its entry points twice.
    unique = {(ep.name, ep.value): ep for ep in points}
    return sorted(unique.values(), key=lambda ep: ep.name)


def build_plugin_host(extra_plugins: tuple[Any, ...] = (), disabled: tuple[str, ...] = ()) -> PluginHost:
    """Create the plugin manager: hookspecs, engine plugins, entry-point plugins, extra objects."""
    import importlib

    manager = pluggy.PluginManager("archlint")
    manager.add_hookspecs(hookspecs)
    host = PluginHost(manager)

    def register(load: Any, name: str) -> None:
        if name in disabled or manager.has_plugin(name):
            return
        try:
            manager.register(load(), name=name)
        except Exception as exc:
            host.load_errors.append(PluginLoadError(name, f"{type(exc).__name__}: {exc}"))

    for module_name in ENGINE_PLUGINS:
        register(lambda m=module_name: importlib.import_module(m), module_name)
    for ep in _entry_points():
        register(ep.load, ep.name)
    for index, plugin in enumerate(extra_plugins):
        register(lambda p=plugin: p, getattr(plugin, "__name__", f"plugin-{index}"))
    _drop_invalid_plugins(host)
    return host


def _known_hooks() -> list[str]:
    return sorted(n for n in dir(hookspecs) if n.startswith("archlint_"))


def _drop_invalid_plugins(host: PluginHost) -> None:
    """A plugin implementing an unknown (e.g. misspelled) hook is unregistered and reported, loudly."""
    try:
        host.manager.check_pending()
    except pluggy.PluginValidationError as exc:
        name = host.manager.get_name(exc.plugin) or type(exc.plugin).__name__
        # pluggy's message ends with the plugin's repr (a memory address): keep the output deterministic
        hook = re.search(r"unknown hook '([^']+)'", str(exc))
        host.load_errors.append(PluginLoadError(
            name, f"unknown hook {hook.group(1)!r}; known hooks: {', '.join(_known_hooks())}" if hook
            else f"invalid plugin: {str(exc).split(' in plugin ')[0]}"))
        host.manager.unregister(exc.plugin)
        _drop_invalid_plugins(host)

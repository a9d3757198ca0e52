"""The plugin host: made in one place (`build_plugin_host`), once per run.

Built-in rules and report formats are plugins in the `archlint` entry-point group and load exactly
like third-party plugins. Building the host loads every plugin and calls `archlint_rules` once; the
rules it returns are checked (a Rule, with a code and a name, codes unique across plugins) and kept
on the host. Whatever fails becomes a `PluginLoadError` naming the plugin, instead of taking the run
down: the other plugins' rules still run.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pluggy

from archlint.plugin import hookspecs
from archlint.plugin.hookspecs import hookimpl
from archlint.plugin.results import OutputStyle
from archlint.plugin.rule import Rule

ENTRY_POINT_GROUP = "archlint"
DISABLE_AUTOLOAD_ENV = "ARCHLINT_DISABLE_PLUGIN_AUTOLOAD"
_THIS_DISTRIBUTION = "archlint"

# Plugins that are part of the engine rather than of a lesson (report formats); registered
# through the same `register` path as entry-point plugins.
ENGINE_PLUGINS = ("archlint.report.text", "archlint.report.sarif", "archlint.report.github", "archlint.report.html",
                  "archlint.report.markdown")


class PluginImportError(Exception):
    """A plugin module named with `-p` cannot be imported."""


@dataclass(frozen=True)
class PluginChoice:
    """Plugins chosen for a run: modules to add (`-p mod`) and plugins to leave out (`-p no:name`)."""

    modules: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()

    @classmethod
    def parse(cls, values: Sequence[str]) -> "PluginChoice":
        modules = tuple(v for v in values if not v.startswith("no:"))
        disabled = tuple(v.removeprefix("no:") for v in values if v.startswith("no:"))
        return cls(modules, disabled)


@dataclass(frozen=True)
class PluginLoadError:
    plugin: str
    error: str


@dataclass
class PluginHost:
    """The loaded plugins of one run: its rules (sorted by code) and report formats."""

    manager: pluggy.PluginManager
    choice: PluginChoice = PluginChoice()
    rules: list[Rule] = field(default_factory=list)
    rule_plugins: dict[str, str] = field(default_factory=dict)   # rule code -> name of the plugin providing it
    distributions: dict[str, str] = field(default_factory=dict)  # plugin name -> "distribution version"
    load_errors: list[PluginLoadError] = field(default_factory=list)

    def report_formats(self, style: OutputStyle = OutputStyle()) -> dict[str, Callable[[Any], str]]:
        """{format name: render(report) -> str}; format plugins receive this run's rules and the output style."""
        formats: dict[str, Callable[[Any], str]] = {}
        for provided in self.manager.hook.archlint_report_formats(rules=tuple(self.rules), style=style):
            formats.update(provided or {})
        return formats

    def plugin_label(self, rule: Rule) -> str:
        """`plugin-name (distribution version)` of the plugin that provides `rule`."""
        plugin_name = self.rule_plugins.get(rule.code, "?")
        dist = self.distributions.get(plugin_name)
        return f"{plugin_name} ({dist})" if dist else plugin_name


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    if os.environ.get(DISABLE_AUTOLOAD_ENV):
        points = [ep for ep in points if ep.dist is not None and ep.dist.name == _THIS_DISTRIBUTION]
    # A distribution installed twice (e.g. editable + wheel) lists its entry points twice.
    unique = {(ep.name, ep.value): ep for ep in points}
    return sorted(unique.values(), key=lambda ep: ep.name)


def import_plugin_modules(names: Sequence[str]) -> tuple[Any, ...]:
    """Import `-p` plugin modules (the current directory is searchable, as with `python -m`)."""
    modules = []
    for name in names:
        added = os.getcwd() not in sys.path
        if added:
            sys.path.append(os.getcwd())
        try:
            modules.append(importlib.import_module(name))
        except Exception as exc:
            raise PluginImportError(f"-p {name}: cannot import the plugin module: {type(exc).__name__}: {exc}") \
                from None
        finally:
            if added and os.getcwd() in sys.path:
                sys.path.remove(os.getcwd())
    return tuple(modules)


def build_plugin_host(choice: PluginChoice = PluginChoice(), extra_plugins: Sequence[Any] = ()) -> PluginHost:
    """The run's host: hookspecs, engine plugins, entry-point plugins, `-p` modules, extra objects; then
    every plugin's rules, loaded once. Raises PluginImportError when a `-p` module cannot be imported."""
    manager = pluggy.PluginManager("archlint")
    manager.add_hookspecs(hookspecs)
    host = PluginHost(manager, choice)

    def register(load: Callable[[], Any], name: str) -> None:
        if name in choice.disabled or manager.has_plugin(name):
            return
        try:
            manager.register(load(), name=name)
        except Exception as exc:
            host.load_errors.append(PluginLoadError(name, f"{type(exc).__name__}: {exc}"))

    for module_name in ENGINE_PLUGINS:
        register(lambda m=module_name: importlib.import_module(m), module_name)
    for ep in _entry_points():
        register(ep.load, ep.name)
        if ep.dist is not None and manager.has_plugin(ep.name):
            host.distributions[ep.name] = f"{ep.dist.metadata['name']} {ep.dist.version}"
    for index, plugin in enumerate((*import_plugin_modules(choice.modules), *extra_plugins)):
        register(lambda p=plugin: p, getattr(plugin, "__name__", f"plugin-{index}"))
    _drop_invalid_plugins(host)
    _load_rules(host)
    return host


def _load_rules(host: PluginHost) -> None:
    """Call every `archlint_rules` implementation once; keep the valid rules, record the rest."""
    owner_of_code: dict[str, Rule] = {}
    for impl in host.manager.hook.archlint_rules.get_hookimpls():
        try:
            provided = impl.function()
        except Exception as exc:  # a broken plugin must not hide the others' rules
            host.load_errors.append(PluginLoadError(impl.plugin_name, f"archlint_rules raised {exc!r}"))
            continue
        for rule in provided or ():
            if isinstance(rule, type) and issubclass(rule, Rule):
                rule = rule()
            problem = _rule_problem(rule, owner_of_code, host.rule_plugins)
            if problem:
                host.load_errors.append(PluginLoadError(impl.plugin_name, problem))
                continue
            for code in rule.all_codes():
                owner_of_code[code] = rule
            host.rule_plugins[rule.code] = impl.plugin_name
            host.rules.append(rule)
    host.rules.sort(key=lambda r: r.code)


def _rule_problem(rule: Any, owner_of_code: dict[str, Rule], rule_plugins: dict[str, str]) -> str | None:
    """Why a provided rule cannot be used, or None."""
    if not isinstance(rule, Rule):
        return f"returned {rule!r}, not a Rule"
    missing = [a for a in ("code", "name") if not isinstance(getattr(rule, a, None), str)]
    if missing:  # sorting and selection need both; one bad rule must not stop the others
        return f"rule {type(rule).__name__} has no {' or '.join(missing)}; skipped"
    for code in rule.all_codes():
        taken = owner_of_code.get(code)
        if taken is not None:
            return (f"rule {rule.name} uses code {code}, already taken by {taken.name} "
                    f"(plugin {rule_plugins.get(taken.code, '?')}); skipped")
    taken_name = next((r for r in owner_of_code.values() if r.name == rule.name), None)
    if taken_name is not None:
        return f"rule {rule.code} uses the name {rule.name!r}, already taken by {taken_name.code}; skipped"
    return None


def _known_hooks() -> list[str]:
    return sorted(n for n in dir(hookspecs) if n.startswith("archlint_"))


def _implemented_hooks(plugin: Any) -> list[str]:
    """Names of the plugin's attributes marked with `@hookimpl`."""
    return [name for name in dir(plugin) if getattr(getattr(plugin, name, None), "archlint_impl", None) is not None]


def _drop_invalid_plugins(host: PluginHost) -> None:
    """A plugin implementing an unknown (e.g. misspelled) hook is unregistered and reported, loudly."""
    try:
        host.manager.check_pending()
    except pluggy.PluginValidationError as exc:
        name = host.manager.get_name(exc.plugin) or type(exc.plugin).__name__
        # which hooks are unknown is read from the plugin itself, not from pluggy's message (whose words end
        # with the plugin's repr, a memory address)
        unknown = sorted(set(_implemented_hooks(exc.plugin)) - set(_known_hooks()))
        host.load_errors.append(PluginLoadError(
            name, f"unknown hook {unknown[0]!r}; known hooks: {', '.join(_known_hooks())}" if unknown
            else "invalid plugin: a hook implementation does not match its specification"))
        host.manager.unregister(exc.plugin)
        _drop_invalid_plugins(host)


__all__ = ["DISABLE_AUTOLOAD_ENV", "ENGINE_PLUGINS", "ENTRY_POINT_GROUP", "PluginChoice", "PluginHost",
           "PluginImportError", "PluginLoadError", "build_plugin_host", "hookimpl", "import_plugin_modules"]

"""A run over many targets: load each target's models, lint each model, merge the reports in order.

`lint_targets(specs, settings, plugins)` is what `archlint check` calls. Each spec is linted by
`lint_job(LintJob)`, a module-level function over picklable data, so `parallel.lint_many` can run
it in worker processes (`jobs > 1`, `timeout`) and still return one Report in the order of `specs`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import sys
from dataclasses import dataclass
from typing import Any, Sequence

from archlint.config import Settings
from archlint.inputs import InputInferenceError
from archlint.meta import is_meta_model
from archlint.loading import LoadedModel, LoadOptions, ModelSpec, iter_models
from archlint.parallel import lint_many
from archlint.plugins import PluginHost, build_plugin_host
from archlint.report import Report, TargetError
from archlint.runner import RunOptions, check_model
from archlint.tracing import TraceFailure


class PluginImportError(Exception):
    """A plugin module named with `-p` cannot be imported."""


@dataclass(frozen=True)
class PluginChoice:
    """Plugins chosen on the command line: modules to add (`-p mod`) and plugins to leave out (`-p no:name`)."""

    modules: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()

    @classmethod
    def parse(cls, values: Sequence[str]) -> "PluginChoice":
        modules = tuple(v for v in values if not v.startswith("no:"))
        disabled = tuple(v.removeprefix("no:") for v in values if v.startswith("no:"))
        return cls(modules, disabled)


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


_hosts: dict[PluginChoice, PluginHost] = {}


def plugin_host(choice: PluginChoice, fresh: bool = False) -> PluginHost:
    """One plugin host per process and choice (a worker builds its own the first time).

    `fresh` builds a new one (a new command-line run in the same process, e.g. in tests).
    """
    if fresh or choice not in _hosts:
        _hosts[choice] = build_plugin_host(extra_plugins=import_plugin_modules(choice.modules),
                                           disabled=choice.disabled)
    return _hosts[choice]


@dataclass(frozen=True)
class LintJob:
    """Everything a (possibly separate) process needs to lint one spec. Picklable."""

    spec: ModelSpec
    settings: Settings
    plugins: PluginChoice = PluginChoice()

    def __str__(self) -> str:
        return str(self.spec)


def load_options(settings: Settings) -> LoadOptions:
    return LoadOptions(input_shapes=settings.input_shapes, dtype=settings.dtype, entries=tuple(settings.models),
                       device=settings.run.device, meta_above=settings.meta_above)


def _run_for(loaded: LoadedModel, run: RunOptions) -> RunOptions:
    """The run settings of one model: where it was actually built, plus its own ignores."""
    run = dataclasses.replace(run, device="meta" if is_meta_model(loaded.model) else "cpu")
    if not loaded.ignore:
        return run
    selection = dataclasses.replace(run.selection, ignore=[*run.selection.ignore, *loaded.ignore])
    return dataclasses.replace(run, selection=selection)


def lint_loaded(loaded: LoadedModel, run: RunOptions, host: PluginHost) -> Report:
    """Lint one built model; a model no tracer handles is one error line, not a crash."""
    report = Report()
    try:
        report.models.append(check_model(loaded.model, loaded.example_inputs, name=loaded.name,
                                         run=_run_for(loaded, run), host=host, target=loaded.target,
                                         notes=loaded.notes))
    except TraceFailure as exc:
        report.errors.append(TargetError(loaded.target, str(exc), "trace"))
    except InputInferenceError as exc:
        report.errors.append(TargetError(loaded.target, str(exc), "input"))
    except Exception as exc:  # an engine bug must not lose the other models
        first = (str(exc).strip().splitlines() or [""])[0]
        report.errors.append(TargetError(loaded.target, f"internal error while linting: {type(exc).__name__}: "
                                                        f"{first}", "internal"))
    return report


def lint_job(job: LintJob) -> Report:
    """Load and lint every model of one spec (in this process or a worker)."""
    host = plugin_host(job.plugins)
    report = Report()
    with contextlib.redirect_stdout(sys.stderr):   # prints from the user's forward() stay out of the report
        for item in iter_models(job.spec, load_options(job.settings)):
            if isinstance(item, TargetError):
                report.errors.append(item)
            else:
                report.merge(lint_loaded(item, job.settings.run, host))
            del item   # let a built model go before the next one is built
    return report


def lint_targets(specs: Sequence[ModelSpec], settings: Settings, plugins: PluginChoice = PluginChoice(),
                 jobs: int = 1, timeout: float | None = None, progress: bool | None = None) -> Report:
    """Lint every spec; one Report in the order of `specs` whatever `jobs` is."""
    jobs_list = [LintJob(spec, settings, plugins) for spec in specs]
    return lint_many(jobs_list, lint_job, jobs=jobs, timeout=timeout, label=str, progress=progress)


__all__ = ["LintJob", "PluginChoice", "PluginImportError", "import_plugin_modules", "lint_job", "lint_loaded",
           "lint_targets", "load_options", "plugin_host"]

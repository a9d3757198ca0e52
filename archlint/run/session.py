"""A run over many targets: load each target's models, lint each model, merge the reports in order.

`lint_targets(specs, settings, host)` is what `archlint check` and `pytest --archlint` call. Each spec
is linted by `lint_spec(LintJob)`, a module-level function over picklable data, so `parallel.lint_many`
can run it in worker processes (`jobs > 1`, `timeout`) and still return one Report in the order of
`specs`. The run's plugin host is used as it is in this process; a worker process builds its own once,
from the same `PluginChoice`, and keeps it for every spec it is given.
"""
from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from dataclasses import dataclass
from typing import Any, Sequence

from archlint.load.device import is_meta_model, lazy_layers
from archlint.load.first_layer import layer_reached_by
from archlint.load.inputs import InputInferenceError, alternative_inputs, infer_inputs
from archlint.load.models import LoadedModel, iter_models
from archlint.load.options import LoadOptions
from archlint.load.targets import ModelSpec
from archlint.mechanics.no_gpu import cuda_stays_on_cpu
from archlint.mechanics.profile import phase
from archlint.plugin.host import PluginChoice, PluginHost
from archlint.plugin.results import (
    ErrorKind,
    Note,
    NoteKind,
    Report,
    TargetCause,
    TargetError,
)
from archlint.run.config import Settings
from archlint.run.holder_inputs import holder_fed_inputs, part_from_holders
from archlint.run.parallel import lint_many
from archlint.run.runner import RunOptions, lint_failure, lint_model
from archlint.run.setup import open_run
from archlint.trace.fit import channels_fitted, fewer_axes_fitted, runs_on, side_fitted
from archlint.trace.result import TraceFailure

# The host of the current run in this process, by plugin choice (a worker process fills it on first use).
_hosts: dict[PluginChoice, PluginHost] = {}


def host_for(choice: PluginChoice) -> PluginHost:
    """This process's host for the current run (built on first use, e.g. in a worker)."""
    if choice not in _hosts:
        _hosts[choice] = open_run(choice)
    return _hosts[choice]


def start_run(host: PluginHost) -> None:
    """A new run in this process: `host` is the one its specs are linted with."""
    _hosts.clear()
    _hosts[host.choice] = host


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
                       device=settings.run.device, meta_above=settings.meta_above, part_builder=built_by_holders)


def built_by_holders(target: str) -> LoadedModel | None:
    """The part `file.py:Class` as a model of its repository builds and feeds it (see holder_inputs)."""
    with phase("holder build"):
        return part_from_holders(target, fitted)


def _run_for(loaded: LoadedModel, run: RunOptions) -> RunOptions:
    """The run settings of one model: where it was actually built, plus its own ignores."""
    run = dataclasses.replace(run, device="meta" if is_meta_model(loaded.model) else "cpu")
    if not loaded.ignore:
        return run
    selection = dataclasses.replace(run.selection, ignore=[*run.selection.ignore, *loaded.ignore])
    return dataclasses.replace(run, selection=selection)


FIT_SECONDS = 10   # spent trying other inputs on a model the guess does not fit, before its holders are asked


def fitted(loaded: LoadedModel) -> LoadedModel:
    """A model whose inputs were guessed from its first layer, with inputs it actually runs on: the guess,
    else the first of the common sizes that runs (checked on fake tensors), said so in the notes."""
    def chosen(inputs: tuple[Any, ...], why: str) -> LoadedModel:
        # the guess's note gives way to the note of the input that runs
        notes = [Note(NoteKind.INPUT, why) if note.kind is NoteKind.INPUT else note for note in loaded.notes]
        return dataclasses.replace(loaded, example_inputs=inputs, notes=notes)

    if loaded.fed_by_code and not lazy_layers(loaded.model) and not runs_on(loaded.model, loaded.example_inputs):
        if loaded.as_fed is not None and runs_on(loaded.model, loaded.as_fed[0]):
            return chosen(*loaded.as_fed)
        guessed = _guessed_instead(loaded)   # the code's own input does not run either (its test is out of date)
        if guessed is not loaded and runs_on(guessed.model, guessed.example_inputs):
            return guessed   # (a guess that does not run either: the code's input stays, the trace says why)
    if not loaded.inputs_guessed or lazy_layers(loaded.model) or runs_on(loaded.model, loaded.example_inputs):
        return loaded   # (a fake forward would give lazy layers fake weights: the lint materializes them on a copy)
    device = "meta" if is_meta_model(loaded.model) else "cpu"
    said = next((note.text for note in loaded.notes if note.kind is NoteKind.INPUT), "the inferred input")

    reached = [layer_reached_by(loaded.model, i) for i in range(len(loaded.example_inputs))]
    fitted_channels = channels_fitted(loaded.model, loaded.example_inputs, reached)
    if fitted_channels is not None:
        shapes = ", ".join(str([int(d) for d in t.shape]) for t in fitted_channels if hasattr(t, "shape"))
        return chosen(fitted_channels, f"input {shapes}: each argument sized so that the first convolution or "
                                       f"linear layer it reaches receives the channels or features it takes, those "
                                       f"joined to it on the way counted (a forward on meta tensors)")
    fitted_fewer = fewer_axes_fitted(loaded.model, loaded.example_inputs, reached)
    if fitted_fewer is not None:
        return chosen(*fitted_fewer)
    # what the repository's code feeds a model of its class where it builds one: its own data, before any guess
    for fed_by_code in loaded.fed_at_sites() if loaded.fed_at_sites is not None and device != "meta" else []:
        if runs_on(loaded.model, fed_by_code[0]):
            return chosen(*fed_by_code)
    fitted_side = side_fitted(loaded.model, loaded.example_inputs)
    if fitted_side is not None:
        return chosen(*fitted_side)
    deadline = time.monotonic() + FIT_SECONDS
    for inputs, why in alternative_inputs(loaded.model, device, loaded.fed_shapes(), (loaded.example_inputs, said)):
        if runs_on(loaded.model, inputs):
            return chosen(inputs, why)
        if time.monotonic() > deadline:
            break   # the rest are unlikely where these failed; each costs a forward
    if device != "meta":
        with phase("holder inputs"):
            fed = holder_fed_inputs(loaded.model, fitted)
        if fed is not None:
            return chosen(*fed)
    return loaded   # nothing fits: the trace says why with the first guess


def _guessed_instead(loaded: LoadedModel) -> LoadedModel:
    """The model with inputs guessed from its layers in place of those the code beside it feeds it, which do not
    run; the report keeps what the code fed and says so."""
    try:
        inputs, note = infer_inputs(loaded.model, "meta" if is_meta_model(loaded.model) else "cpu")
    except InputInferenceError:
        return loaded
    fed = next((n.text for n in loaded.notes if n.kind is NoteKind.INPUT), "the input the code feeds it")
    notes = [n for n in loaded.notes if n.kind is not NoteKind.INPUT]
    notes += [Note(NoteKind.BUILD, f"{fed} does not run on it: inputs were guessed instead"), Note(NoteKind.INPUT, note)]
    return dataclasses.replace(loaded, example_inputs=inputs, notes=notes, inputs_guessed=True, as_fed=None,
                               fed_by_code=False)


def lint_loaded(loaded: LoadedModel, run: RunOptions, host: PluginHost) -> Report:
    """Lint one built model; a model no tracer handles is one error line, not a crash."""
    report = Report()
    with phase("inputs"), cuda_stays_on_cpu():   # a forward making its tensors on CUDA, as the trace lets it
        loaded = fitted(loaded)
    try:
        report.models.append(lint_model(loaded.model, loaded.example_inputs, host, name=loaded.name,
                                        run=_run_for(loaded, run), target=loaded.target, notes=loaded.notes))
    except TraceFailure as exc:
        report.errors.append(TargetError(loaded.target, str(exc), ErrorKind.TRACE, exc.cause))
    except InputInferenceError as exc:
        report.errors.append(TargetError(loaded.target, str(exc), ErrorKind.INPUT, TargetCause.NO_INPUT_FITS))
    except Exception as exc:  # an engine bug must not lose the other models
        report.errors.append(TargetError(loaded.target, *lint_failure(exc)))
    return report


def lint_spec(job: LintJob) -> Report:
    """Load and lint every model of one spec (in this process or a worker)."""
    host = host_for(job.plugins)
    report = Report()
    with contextlib.redirect_stdout(sys.stderr):   # prints from the user's forward() stay out of the report
        for item in iter_models(job.spec, load_options(job.settings)):
            if isinstance(item, TargetError):
                (report.skipped if item.kind is ErrorKind.SKIPPED else report.errors).append(item)
            else:
                report.merge(lint_loaded(item, job.settings.run, host))
            del item   # let a built model go before the next one is built
    return report


def shard(specs: Sequence[ModelSpec], index: int, count: int) -> list[ModelSpec]:
    """The `index`-th (1-based) of `count` slices of the specs, by position in their sorted order: every
    spec is in exactly one slice, slice sizes differ by at most one, and the split depends only on the list."""
    ordered = sorted(specs, key=str)
    return [spec for position, spec in enumerate(ordered) if position % count == index - 1]


def lint_targets(specs: Sequence[ModelSpec], settings: Settings, host: PluginHost, jobs: int = 1,
                 timeout: float | None = None, progress: bool | None = None) -> Report:
    """Lint every spec with the run's `host`; one Report in the order of `specs` whatever `jobs` is."""
    start_run(host)
    jobs_list = [LintJob(spec, settings, host.choice) for spec in specs]
    return lint_many(jobs_list, lint_spec, jobs=jobs, timeout=timeout, label=str, progress=progress)


__all__ = ["LintJob", "host_for", "start_run", "lint_loaded", "lint_spec", "lint_targets", "load_options", "shard"]

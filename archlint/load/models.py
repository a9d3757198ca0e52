"""Loading a spec's models one at a time: discover, build, feed; every failure is a TargetError line."""
from __future__ import annotations

import argparse
import dataclasses
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import nn

from archlint.load.arguments import config_defaults, fed_shapes
from archlint.load.config_files import config_arguments
from archlint.load.first_layer import first_layer
from archlint.load.building import (
    candidate_sites,
    classify_attribute,
    construct,
    fed_at_sites,
    resolve_attribute,
)
from archlint.load.device import inputs_for, is_meta_model
from archlint.load.discovery import Candidate, discover, named_like_factories, required_parameters
from archlint.load.errors import LoadError, import_error_cause, import_error_message
from archlint.load.inputs import (
    DEFAULT_BATCH,
    InputInferenceError,
    as_input_tuple,
    fed_input,
    infer_inputs,
    inputs_from_shape,
    inputs_from_source,
    keyword_only_forward,
    parse_dtype,
)
from archlint.load.options import LoadOptions, ModelEntry, entry_for
from archlint.load.sandbox import ImportedModule, imported, read_source, user_stdout
from archlint.load.sites import BuiltAtSite, SiteTarget
from archlint.load.targets import SOURCE_SUFFIXES, ModelSpec
from archlint.mechanics.entry_method import has_forward, model_to_lint
from archlint.mechanics.errors import user_error_text
from archlint.plugin.results import (
    ErrorKind,
    Note,
    NoteKind,
    TargetCause,
    TargetError,
    UnbuiltModel,
)


Inputs = tuple[tuple[Any, ...], str]   # example inputs, and the note saying where they come from


@dataclass
class LoadedModel:
    name: str
    target: str                        # re-lintable target string: file.py:attr or module:attr
    model: nn.Module
    example_inputs: tuple[Any, ...]
    notes: list[Note] = field(default_factory=list)
    file: str | None = None
    ignore: tuple[str, ...] = ()       # per-model ignores from the config entry
    inputs_guessed: bool = False       # inferred from the first layer: another size may be tried
    # built directly (no site): what the repository's code feeds a model of its class where it builds one (in the
    # lint's batch, then exactly), asked only when the guess does not run (each site asked runs its slice)
    fed_at_sites: Callable[[], list[Inputs]] | None = None
    # the tensors exactly as the site's code fed them, when the lint's batch differs: tried if that does not run
    as_fed: Inputs | None = None
    fed_by_code: bool = False   # the inputs are those the code at its construction site feeds it

    def fed_shapes(self) -> list[tuple[tuple[int, ...], str]]:
        """Shapes the user's code beside the model's file makes, and where: alternatives for a guessed input.
        Read on demand, only when the guess does not run (parsing a package's files took 0.2-0.35 s)."""
        if not self.inputs_guessed or not self.file or not self.file.endswith(SOURCE_SUFFIXES):
            return []
        return fed_shapes(Path(self.file))



# -- example inputs ------------------------------------------------------------------------------------------------

def batch_of_two_to_thirty_two(tensors: tuple[Any, ...]) -> tuple[tuple[Any, ...], str]:
    """Tensors the user's code feeds, with a batch of 1 repeated to 2 (train-mode BatchNorm needs two) and a batch
    above 32 cut to 2 (the lint needs the shape, not the data); and the words saying so."""
    given = [t for t in tensors if t is not None]    # a None keeps the place of a skipped optional argument
    batches = {t.shape[0] for t in given if isinstance(t, torch.Tensor) and t.dim() > 0}
    if len(batches) != 1 or all(isinstance(t, torch.Tensor) and t.dim() > 0 for t in given) is False:
        return tensors, ""
    [batch] = batches
    if batch == 1:
        return tuple(t if t is None else t.repeat(2, *[1] * (t.dim() - 1)) for t in tensors), \
            " (its batch of 1 repeated to 2)"
    if batch > 32:
        return tuple(t if t is None else t[:DEFAULT_BATCH] for t in tensors), \
            f" (the first {DEFAULT_BATCH} of its batch of {batch})"
    return tensors, ""


def _inputs_dtype(model: nn.Module, dtype: str | None) -> torch.dtype:
    if dtype:
        return parse_dtype(dtype)
    if isinstance(first_layer(model), (nn.Embedding, nn.EmbeddingBag)):
        return torch.long
    return next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)


def _call_example_inputs(function: Callable[[], Any], where: str) -> tuple[Any, ...]:
    try:
        with user_stdout():
            value = function()
    except Exception as exc:
        raise LoadError(f"{where} raised {user_error_text(exc)}", TargetCause.INPUTS_FAILED) from exc
    try:
        inputs = as_input_tuple(value)
    except InputInferenceError:
        raise LoadError(f"{where} returned {type(value).__name__}; expected a tensor or a tuple of tensors",
                        TargetCause.INPUTS_FAILED) from None
    if not inputs:
        raise LoadError(f"{where} returned no inputs", TargetCause.INPUTS_FAILED)
    return inputs


def _class_example_inputs(model: nn.Module) -> Callable[[], Any] | None:
    """An `example_inputs` attribute defined on the model's own class (classmethod or staticmethod)."""
    for cls in type(model).__mro__:
        if cls.__module__.startswith("torch."):
            return None
        if "example_inputs" in vars(cls):
            return getattr(model, "example_inputs")
    return None


def _shapes_said(tensors: tuple[Any, ...]) -> str:
    return ", ".join("None" if t is None else str(list(t.shape)) for t in tensors)


def _as_fed(model: nn.Module, fed: tuple[Any, ...], where: str | None) -> Inputs:
    """The tensors the user's code feeds the model, as the lint's inputs (a batch of 2 to 32), and the note."""
    tensors, resized = batch_of_two_to_thirty_two(fed)
    return inputs_for(model, tensors), f"input {_shapes_said(tensors)} as the code at {where} feeds it{resized}"


def _exactly_as_fed(model: nn.Module, fed: tuple[Any, ...], where: str | None) -> Inputs | None:
    """The tensors exactly as fed, when the lint's batch differs from the code's: for a model whose other
    arguments do not keep the batch first (an RNN's hidden state `[layers, batch, hidden]`)."""
    if not batch_of_two_to_thirty_two(fed)[1]:
        return None
    return inputs_for(model, fed), f"input {_shapes_said(fed)} exactly as the code at {where} feeds it (its batch " \
                                   f"as it is: another batch does not run, an argument keeps its batch on another axis)"


def _fed_where_built(model: nn.Module, candidate: Candidate, target: SiteTarget | None,
                     options: LoadOptions) -> Callable[[], list[Inputs]] | None:
    if target is None:
        return None

    def fed() -> list[Inputs]:
        found = fed_at_sites(candidate, target, options)
        if found is None:
            return []
        exact = _exactly_as_fed(model, *found)
        return [_as_fed(model, *found), *([exact] if exact else [])]
    return fed


def example_inputs_for(model: nn.Module, module: Any, entry: ModelEntry | None, options: LoadOptions,
                       arguments: dict[str, Any] | None = None,
                       site: BuiltAtSite | None = None) -> tuple[tuple[Any, ...], str | None]:
    """--input-shape, then the config entry, then example_inputs() on the class or in the file, then the tensors
    the code that built the model feeds it (at its construction site), else inferred."""
    shapes = options.input_shapes or (entry.input_shapes if entry else ())
    device = "meta" if is_meta_model(model) else "cpu"
    if shapes:
        dtype = _inputs_dtype(model, options.dtype or (entry.dtype if entry else None))
        return inputs_from_shape(list(shapes), dtype, device), None
    own = _class_example_inputs(model)
    if own is not None:
        return _call_example_inputs(own, f"{type(model).__name__}.example_inputs()"), None
    in_file = getattr(module, "example_inputs", None)
    if inspect.isfunction(in_file) and not required_parameters(in_file):
        return _call_example_inputs(in_file, "example_inputs()"), None
    if site is not None and site.inputs is not None:
        return _as_fed(model, site.inputs, site.inputs_where)
    file = getattr(module, "__file__", None)
    if file and file.endswith(SOURCE_SUFFIXES):
        from_source = inputs_from_source(model, read_source(file), file, device)
        if from_source is not None:
            return from_source
    # a script's command-line defaults (`opt.img_size`) say what image it is for, like constructor arguments do
    flags = {k: v for value in vars(module).values() if isinstance(value, argparse.Namespace)
             for k, v in vars(value).items()}
    if first_layer(model) is None and file and file.endswith(SOURCE_SUFFIXES):
        # no layer to infer from (a model of functional ops): the first shape the user's code makes is the guess,
        # checked like any guess before the lint (the session tries the others)
        fed = fed_shapes(Path(file))
        if fed and not keyword_only_forward(model):
            return fed_input(model, *fed[0], device, "the model has no Conv/Linear/Embedding layer to infer one from")
    try:
        return infer_inputs(model, device, {**(arguments or {}), **dict(entry.kwargs if entry else ())}, flags,
                            site.inner_arguments if site else None)
    except InputInferenceError as exc:
        raise LoadError(str(exc), TargetCause.NO_INPUT_FITS) from None



# -- loading -------------------------------------------------------------------------------------------------------

def _load_candidate(candidate: Candidate, spec: ModelSpec, imported_module: ImportedModule,
                    options: LoadOptions) -> LoadedModel:
    module = imported_module.module
    target = f"{spec.target}:{candidate.attr}"
    file = getattr(module, "__file__", None)
    entry = entry_for(options.entries, None if spec.is_module else spec.target, spec.target, candidate.attr)
    site_target = _site_target(candidate, file, module)
    built = construct(candidate, dict(entry.kwargs) if entry else {}, options, site_target)
    site = built.site
    arguments = site.arguments if site else {**candidate.defaults, **(built.arguments or {})}
    model, through = model_to_lint(built.model)
    inputs, inferred = example_inputs_for(model, module, entry, options, arguments, site)
    notes = [Note(NoteKind.BUILD, text) for text in imported_module.notes]
    notes += [Note(kind, text) for kind, text in ((NoteKind.BUILD, built.note),
                                                 (NoteKind.BUILD, f"built as in {site.where}" if site else built.how),
                                                 (NoteKind.BUILD, candidate.note), (NoteKind.BUILD, through),
                                                 (NoteKind.INPUT, inferred)) if text]
    return LoadedModel(name=_model_name(candidate, built.model, entry), target=target, model=model,
                       example_inputs=inputs, notes=notes, file=file,
                       ignore=entry.ignore if entry else (), inputs_guessed=inferred is not None and not (site and site.inputs is not None),
                       fed_at_sites=_fed_where_built(model, candidate, site_target, options) if site is None else None,
                       as_fed=_exactly_as_fed(model, site.inputs, site.inputs_where) if site and site.inputs is not None
                       else None, fed_by_code=bool(site and site.inputs is not None and inferred is not None))


def _site_target(candidate: Candidate, file: str | None, module: Any) -> SiteTarget | None:
    """What the construction sites of the candidate must build; None for an instance or a module target."""
    if candidate.kind == "instance" or not file or not file.endswith(SOURCE_SUFFIXES):
        return None
    return SiteTarget(candidate.obj, Path(file), module)


def _model_name(candidate: Candidate, model: nn.Module, entry: ModelEntry | None) -> str:
    """The config's name; else the attribute; a factory (often just `build`) is named by the class it builds."""
    if entry and entry.name:
        return entry.name
    if candidate.builds is not None:
        return candidate.attr   # ResNet18, not ResNet: the factory says which variant
    if candidate.kind == "factory" and not type(model).__module__.startswith("torch."):
        return type(model).__name__
    return candidate.attr


@dataclass(frozen=True)
class SkippedCandidate:
    """A model of the file that needs constructor arguments nobody gave."""

    what: str      # `class Wide` or `factory build_wide`
    reason: str    # needs arguments (...); how to give them
    unbuilt: UnbuiltModel
    is_class: bool = False

    def note(self) -> Note:
        return Note(NoteKind.SKIPPED, f"skipped {self.what}: {self.reason}", self.unbuilt)

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


def _skipped(candidate: Candidate, spec: ModelSpec) -> SkippedCandidate:
    kind = "class" if candidate.kind == "class" else "factory"
    unbuilt = unbuilt_model(candidate, spec)
    shown = ", ".join(f"{n}: {a}" if a else n for n, a in unbuilt.parameters)
    return SkippedCandidate(f"{kind} {candidate.attr}",
                            f"needs arguments ({shown}) and no code of the repository builds it; lint it with a models "
                            f"entry (target = \"{spec.target}:{candidate.attr}\", kwargs = {{...}}), which "
                            f"`archlint check --add-models` writes", unbuilt, kind == "class")


def unbuilt_model(candidate: Candidate, spec: ModelSpec) -> UnbuiltModel:
    """The candidate's target and its required parameters with their annotations as written."""
    try:
        parameters = inspect.signature(candidate.obj).parameters
    except (TypeError, ValueError):
        parameters = {}
    described = []
    for name in required_parameters(candidate.obj):
        annotation = parameters[name].annotation if name in parameters else inspect.Parameter.empty
        shown = None if annotation is inspect.Parameter.empty else \
            annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
        described.append((name, shown))
    return UnbuiltModel(f"{spec.target}:{candidate.attr}", tuple(described))


# A class no code of the repository builds on its own may be a part a model of the repository builds
# (`LoadOptions.part_builder`); a few per file, since each is a load of its holder.
HOLDERS_MAY_BUILD = (TargetCause.NEEDS_ARGUMENTS, TargetCause.NOT_BUILT)
MOST_PARTS_BY_HOLDERS = 3


def _built_by_holder(target: str, options: LoadOptions) -> LoadedModel | None:
    if options.part_builder is None:
        return None
    try:
        return options.part_builder(target)
    except Exception:   # a holder that fails to load or run leaves the part's own answer as it was
        return None


def iter_models(spec: ModelSpec, options: LoadOptions = LoadOptions()) -> Iterator[LoadedModel | TargetError]:
    """Load the spec's models one at a time (the file is imported once); failures are TargetErrors."""
    label = str(spec)
    try:
        with imported(spec) as imported_module:
            if spec.attr:
                candidate = None
                try:
                    found = resolve_attribute(imported_module.module, spec.attr, spec.target)
                    candidate = classify_attribute(found, spec.attr)
                    yield _load_candidate(candidate, spec, imported_module, options)
                except LoadError as exc:
                    built = _built_by_holder(str(spec), options) if exc.cause in HOLDERS_MAY_BUILD and \
                        candidate is not None and candidate.kind == "class" else None
                    if built is not None:
                        yield built
                        return
                    if candidate is not None and exc.cause is TargetCause.NEEDS_ARGUMENTS:
                        exc.unbuilt = unbuilt_model(candidate, dataclasses.replace(spec, attr=None))
                    yield exc.target_error(label)
                return
            yield from _discovered_models(spec, imported_module, options)
    except LoadError as exc:
        yield exc.target_error(label)


@dataclass
class ModelPlan:
    """The models a spec's module defines: all candidates, those that can be built, those that need arguments."""

    candidates: list[Candidate]
    buildable: list[Candidate]
    skipped: list[SkippedCandidate]   # the candidates that need arguments nobody gave


def plan_models(spec: ModelSpec, imported_module: ImportedModule, entries: Sequence[ModelEntry]) -> ModelPlan:
    """Discover the module's models and split them by whether they can be built with what is given: its
    arguments, config-class defaults, or a construction site of the repository (found, not yet run)."""
    module = imported_module.module
    source = read_source(spec.target) if not spec.is_module else inspect.getsource(module)
    candidates = [c for c in discover(module, source) if c.attr not in spec.exclude]
    plan = ModelPlan(candidates, [], [])
    for candidate in candidates:
        entry = entry_for(entries, None if spec.is_module else spec.target, spec.target, candidate.attr)
        given = dict(entry.kwargs) if entry else {}
        if candidate.kind != "instance" and any(p not in given for p in required_parameters(candidate.obj)):
            if not given and _buildable_without_arguments(candidate, module):
                plan.buildable.append(candidate)
            elif not candidate.needs_site or given:
                plan.skipped.append(_skipped(candidate, spec))
            # else: a helper no code calls to build a model, not a model
        else:
            plan.buildable.append(candidate)
    return plan


def _buildable_without_arguments(candidate: Candidate, module: Any) -> bool:
    """A construction site in the repository builds the candidate, or its config classes' defaults do, or a
    configuration file of the repository holds what it reads (both tried when no site builds it)."""
    file = getattr(module, "__file__", None)
    defaults = config_defaults(candidate.obj, vars(module), Path(file) if file else None)
    if defaults is not None:
        candidate.defaults = {name: built.value for name, built in defaults.items()}
        candidate.defaults_said = {name: built.said for name, built in defaults.items()}
    target = _site_target(candidate, getattr(module, "__file__", None), module)
    return bool(candidate_sites(candidate, target)) or defaults is not None or target is not None and \
        bool(config_arguments(candidate.obj, required_parameters(candidate.obj), target.file))


def _built_as_its_class(factory: Candidate, failure: LoadError, spec: ModelSpec, imported_module: ImportedModule,
                        options: LoadOptions, candidates: list[Candidate]) -> LoadedModel | None:
    """A factory of the file that could not be built (`from_pretrained(name)` needs a download): the class it
    builds, defined in the file, built on its own (its own sites, its config's defaults) and said so; None if it
    is no better off."""
    cls = factory.builds
    module = imported_module.module
    if factory.kind != "factory" or cls is None or getattr(cls, "__module__", None) != module.__name__ or \
            any(c.obj is cls for c in candidates):
        return None
    itself = Candidate(cls.__name__, "class", cls, factory.line)
    if required_parameters(cls) and not _buildable_without_arguments(itself, module):
        return None
    try:
        loaded = _load_candidate(itself, spec, imported_module, options)
    except LoadError:
        return None
    loaded.notes.append(Note(NoteKind.BUILD, f"{factory.attr}() could not be built ({failure}); the class it "
                                             f"builds, {cls.__name__}, was linted instead"))
    return loaded


def _discovered_models(spec: ModelSpec, imported_module: ImportedModule,
                       options: LoadOptions) -> Iterator[LoadedModel | TargetError]:
    plan = plan_models(spec, imported_module, options.entries)
    candidates, buildable, skipped = plan.candidates, plan.buildable, plan.skipped
    loaded_any = False
    for candidate in buildable:
        failure: LoadError | None = None
        try:
            loaded = _load_candidate(candidate, spec, imported_module, options)
        except LoadError as exc:
            built = _built_by_holder(f"{spec.target}:{candidate.attr}", options) \
                if exc.cause in HOLDERS_MAY_BUILD and candidate.kind == "class" else \
                _built_as_its_class(candidate, exc, spec, imported_module, options, candidates)
            if built is None:
                failure = exc
            else:
                loaded = built
        if failure is not None:
            failed = imported_module.failure
            # a model of a definitions-only module that does not build needed the failed module-level code
            needs = failure.cause in (TargetCause.NEEDS_ARGUMENTS, TargetCause.NOT_BUILT) and \
                bool(required_parameters(candidate.obj)) and not failed
            yield TargetError(f"{spec.target}:{candidate.attr}", failed.message if failed else str(failure),
                              ErrorKind.LOAD, failed.cause if failed else failure.cause,
                              (unbuilt_model(candidate, spec),) if needs else ())
            continue
        if not has_forward(loaded.model) and next(loaded.model.parameters(), None) is None:
            yield TargetError(f"{spec.target}:{candidate.attr}", f"{candidate.attr} implements no forward() and "
                              f"holds no layers: an abstract base class the repository's models extend, nothing "
                              f"to lint (lint a subclass)", ErrorKind.LOAD, TargetCause.NO_MODEL)
            continue
        if not loaded_any:
            loaded.notes.extend(s.note() for s in skipped)   # said once per file, on its first model
        loaded_any = True
        yield loaded
    if loaded_any or (not candidates and spec.exclude):
        return
    # a file none of whose models builds on its own: its classes may be parts a model of the repository builds (a
    # few per file: each is a load of its holder)
    by_holders = {id(s): _built_by_holder(s.unbuilt.target, options)
                  for s in [s for s in skipped if s.is_class][:MOST_PARTS_BY_HOLDERS]}
    skipped = [s for s in skipped if by_holders.get(id(s)) is None]
    for loaded in (m for m in by_holders.values() if m is not None):
        if not loaded_any:
            loaded.notes.extend(s.note() for s in skipped)   # said once per file, on its first model
        loaded_any = True
        yield loaded
    # In a directory scan, a file of building blocks (or helpers) is not an error; a file whose models could not
    # be built is not an error either, but it is counted and said (never silent)
    if loaded_any:
        return
    lacked = imported_module.absent.first_failure if imported_module.absent is not None else None
    if lacked is not None and not candidates:
        # placeholders for a missing package led to nothing to lint: the package is the answer
        yield LoadError(import_error_message(lacked), import_error_cause(lacked)).target_error(str(spec))
        return
    if spec.from_directory:
        if skipped:
            yield TargetError(str(spec), "; ".join(map(str, skipped)), ErrorKind.SKIPPED, TargetCause.NEEDS_ARGUMENTS,
                              tuple(s.unbuilt for s in skipped))
        return
    if skipped:
        yield TargetError(str(spec), "no model could be built: " + "; ".join(map(str, skipped)), ErrorKind.LOAD,
                          TargetCause.NEEDS_ARGUMENTS, tuple(s.unbuilt for s in skipped))
    elif not candidates:
        named = named_like_factories(imported_module.module)
        why = f"; {', '.join(f'{n}()' for n in named)} is named like one, but its code returns no module" if named else ""
        yield TargetError(str(spec), "no model found: the file defines no nn.Module instance, nn.Module subclass "
                                     "or model factory (a function annotated -> nn.Module, or named build_*, "
                                     f"make_*, create_*, *_model, get_model){why}", ErrorKind.LOAD, TargetCause.NO_MODEL)


def load_spec(spec: ModelSpec, options: LoadOptions = LoadOptions()) -> list[LoadedModel | TargetError]:
    """Every model of one spec, built (convenient for tests and small targets)."""
    return list(iter_models(spec, options))


__all__ = ["LoadedModel", "ModelPlan", "example_inputs_for", "iter_models", "load_spec", "plan_models"]

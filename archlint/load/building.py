"""Building a candidate: instantiate a class or call a factory, on the requested device."""
from __future__ import annotations

import inspect

import typing
from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from archlint.load.discovery import Candidate, required_parameters
from archlint.load.errors import ENVIRONMENT, LoadError, constructor_error_message, environment_cause
from archlint.load.options import LoadOptions
from archlint.load.sandbox import guarded, user_stdout
from archlint.load.sites import (
    BuiltAtSite,
    NotThisModel,
    Site,
    SiteFailed,
    SiteTarget,
    find_sites,
    site_factory,
    sites_scope,
    the_model_among,
)
from archlint.load.config_files import config_arguments
from archlint.load.weights import hub_weights, weights_off
from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.errors import user_error_text
from archlint.mechanics.profile import phase
from archlint.plugin.results import TargetCause

# -- building ------------------------------------------------------------------------------------------------------

def build(factory: Callable[[], nn.Module], options: LoadOptions) -> tuple[nn.Module, str | None]:
    """Build a model on the requested device (the one place construction happens); returns (model, note)."""
    from archlint.load.device import build_model

    built = build_model(factory, options.device, options.meta_above)
    return built.model, built.note


def resolve_attribute(module: Any, attr: str, shown: str) -> Any:
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise LoadError(f"{shown} has no attribute {part!r}", TargetCause.NO_SUCH_TARGET)
        obj = getattr(obj, part)
    return obj


def classify_attribute(obj: Any, attr: str) -> Candidate:
    if isinstance(obj, nn.Module):
        return Candidate(attr, "instance", obj)
    if isinstance(obj, type) and issubclass(obj, nn.Module):
        return Candidate(attr, "class", obj)
    if callable(obj) and not isinstance(obj, type):
        return Candidate(attr, "factory", obj)
    raise LoadError(f"{attr} is a {type(obj).__name__}, not an nn.Module instance, an nn.Module class "
                    f"or a function that returns one", TargetCause.NO_MODEL)


@dataclass
class Construction:
    """A built model, the device note, and the construction site it was built at (None: called directly)."""

    model: nn.Module
    note: str | None
    site: BuiltAtSite | None = None
    how: str | None = None           # how its arguments were made, when not at a site
    arguments: dict[str, Any] | None = None   # the arguments it was built with, when not at a site


def _takes_varargs(obj: Any) -> bool:
    """A class whose constructor takes `*args` (`def __init__(self, *dims)`)."""
    if not isinstance(obj, type):
        return False
    try:
        return any(p.kind is p.VAR_POSITIONAL for p in inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return False


def construct(candidate: Candidate, kwargs: dict[str, Any], options: LoadOptions,
              target: SiteTarget | None = None) -> Construction:
    """Instantiate a class or call a factory: with the given arguments when nothing required is missing, else (or
    when a bare call misses arguments) at the construction sites of the repository, nearest first. Failures become
    a LoadError saying why."""
    if candidate.kind == "instance":
        return Construction(candidate.obj, None)
    kwargs = annotated_values(candidate.obj, kwargs)
    missing = [p for p in required_parameters(candidate.obj) if p not in kwargs]
    bare_failure: LoadError | None = None
    # `Transpose(*dims)` builds bare, as a module that does nothing; the repository's `Transpose(1, 2)` is the model
    sites_first = not missing and not kwargs and _takes_varargs(candidate.obj) and target is not None and \
        bool(candidate_sites(candidate, target))
    if not missing and not sites_first:
        try:
            return Construction(*_built(lambda: candidate.obj(**kwargs), options, _call_failure(candidate)))
        except LoadError as exc:
            unweighted = weights_off(candidate.obj, (), kwargs)
            if unweighted:   # `def resnet_orig(pretrained=True)` reading a weights file that is not here
                try:
                    model, note = _built(lambda: candidate.obj(**{**kwargs, **unweighted}), options,
                                         _call_failure(candidate))
                except LoadError:
                    pass
                else:
                    said = ", ".join(f"{k}={v}" for k, v in unweighted.items())
                    return Construction(model, note, how=f"called with {said}: the architecture, without the weights "
                                                         f"its default loads (they could not be loaded here)")
            if kwargs or target is None or not candidate_sites(candidate, target):
                raise
            # `def resnet(**kwargs): return ResNet(**kwargs)`, `EfficientNet(blocks_args=None)` asserting a list:
            # the defaults were not meant to build it, and a site of the repository gives what it needs
            bare_failure = exc
    failures: list[str] = []
    reached: list[str] = []      # sites where the model's own constructor ran and raised
    downloads: list[str] = []   # sites that got as far as a download: the repository builds it from fetched files
    environments: dict[str, TargetCause | None] = {}   # sites that failed on the installed packages first
    for site in candidate_sites(candidate, target):
        factory = site_factory(site, target)
        try:
            with sites_scope(site, target):
                model, note = _built(factory, options, str)
        except LoadError as exc:
            if not isinstance(exc.__cause__, NotThisModel):
                # a site that got as far as the model's own code says the most: said first
                (reached if getattr(exc.__cause__, "in_model", False) else failures).append(str(exc))
                if exc.cause is TargetCause.NEEDS_DOWNLOAD:
                    downloads.append(str(exc))
                environments[str(exc)] = getattr(exc.__cause__, "environment", None)
            continue
        return Construction(model, note, factory.result)
    if sites_first:   # no site built it: as it builds bare
        return Construction(*_built(lambda: candidate.obj(), options, _call_failure(candidate)))
    if missing and target is not None:   # a configuration tree it reads, from the repository's own files
        for fit in config_arguments(candidate.obj, missing, target.file):
            try:
                model, note = _built(lambda: candidate.obj(**{**kwargs, **fit.kwargs}), options,
                                     _call_failure(candidate))
            except LoadError:
                continue
            return Construction(model, note, how=fit.said, arguments=fit.kwargs)
    if missing and candidate.defaults:   # config classes' defaults, when no site built it
        model, note = _built(lambda: candidate.obj(**{**candidate.defaults, **kwargs}), options, _call_failure(candidate))
        shown = ", ".join(f"{k}={said}" for k, said in candidate.defaults_said.items())
        return Construction(model, note, how=f"built with config objects: {candidate.attr}({shown})")
    failures = reached + failures
    if bare_failure is not None and not failures:
        raise bare_failure
    what = "constructor" if candidate.kind == "class" else f"{candidate.attr}()"
    needs = f"{what} needs arguments ({', '.join(missing)})" if missing else str(bare_failure)
    if not failures:
        raise LoadError(f"{needs} and no code of the repository builds it; give them as kwargs in a models entry of "
                        f"the config (`archlint check --add-models` writes one), or pass an instance",
                        TargetCause.NEEDS_ARGUMENTS)
    others = f" ({len(failures) - 1} other site{'s' if len(failures) > 2 else ''} failed too)" if len(failures) > 1 else ""
    said = (downloads or failures)[0]
    # the constructor's own call failing on what the machine lacks (a library version) is the cause, whatever
    # the sites then met
    bare = bare_failure.cause if bare_failure is not None and bare_failure.cause in ENVIRONMENT else None
    raise LoadError(f"{needs}; the repository's code that builds it failed at {said}{others}",
                    TargetCause.NEEDS_DOWNLOAD if downloads else bare or environments.get(said) or TargetCause.NOT_BUILT)


MOST_FEEDING_SITES = 2


def fed_at_sites(candidate: Candidate, target: SiteTarget, options: LoadOptions
                 ) -> tuple[tuple[Any, ...], str | None] | None:
    """The tensors the repository's code feeds a model of the candidate where it builds one (`output =
    model(hidden, input_batch)` after `model = TextRNN()`), and where: for a model built directly whose guessed
    inputs do not run. Each site asked is its slice run again, the nearest few only."""
    for site in candidate_sites(candidate, target)[:MOST_FEEDING_SITES]:
        factory = site_factory(site, target)
        try:
            with sites_scope(site, target):
                _built(factory, options, str)
        except LoadError:
            continue
        result: BuiltAtSite | None = factory.result   # type: ignore[attr-defined]
        if result is not None and result.inputs is not None:
            return result.inputs, result.inputs_where
    return None


def annotated_values(obj: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """A config table given for a parameter annotated with a class (`dims: ModelDimensions` given
    `{n_mels: 80, ...}`) becomes that class, built from the table: a config file can only hold tables."""
    try:
        hints = typing.get_type_hints(obj.__init__ if isinstance(obj, type) else obj)
    except Exception:   # unresolvable annotations: the values are passed as given
        return kwargs
    made = dict(kwargs)
    for name, value in kwargs.items():
        hint = hints.get(name)
        if isinstance(value, dict) and isinstance(hint, type) and not issubclass(hint, dict):
            try:
                made[name] = hint(**value)
            except TypeError as exc:
                raise LoadError(f"the table given for {name} does not build {hint.__name__}: {exc}",
                                TargetCause.NOT_BUILT) from None
    return made


def candidate_sites(candidate: Candidate, target: SiteTarget | None) -> list[Site]:
    """The candidate's construction sites, found once (no code runs)."""
    if target is None:
        return []
    if candidate.sites is None:
        candidate.sites = find_sites(target)
    return candidate.sites


class NotAModel(Exception):
    """A factory returned something that is not an nn.Module."""


def _call_failure(candidate: Candidate) -> Callable[[BaseException], str]:
    def said(exc: BaseException) -> str:
        if isinstance(exc, NotAModel):
            return f"{candidate.attr}() {exc}"
        if candidate.kind == "class":
            return constructor_error_message(candidate.obj, exc)
        return f"calling {candidate.attr}() raised {user_error_text(exc)}"
    return said


def _built(factory: Callable[[], Any], options: LoadOptions,
           failure: Callable[[BaseException], str]) -> tuple[nn.Module, str | None]:
    """`factory()` built on the requested device, under the sandbox's guard; what it raised as one LoadError line.
    A build refused a download is built again without the downloaded weights (load/weights.py)."""
    try:
        with hub_weights(skip=False), user_stdout(), guarded(), phase("build"):
            model, note = build(factory, options)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        download = exc.download if isinstance(exc, SiteFailed) else Cause.NETWORK in causes(exc)
        environment = exc.environment if isinstance(exc, SiteFailed) else environment_cause(exc)
        refused = LoadError(failure(exc), TargetCause.NEEDS_DOWNLOAD if download else environment or TargetCause.NOT_BUILT)
        refused.__cause__ = exc
        if not download:
            raise refused from exc
        model, note = _built_without_weights(factory, options, refused)
    model = the_model_among(model)
    if not isinstance(model, nn.Module):
        raise LoadError(failure(NotAModel(f"returned {type(model).__name__}, not an nn.Module")))
    return model, note


def _built_without_weights(factory: Callable[[], Any], options: LoadOptions,
                           refused: LoadError) -> tuple[nn.Module, str | None]:
    """The build again, torch.hub's weight downloads skipped; the refused download's error when that fails too."""
    try:
        with hub_weights(skip=True) as skipped, user_stdout(), guarded(), phase("build"):
            model, note = build(factory, options)
    except KeyboardInterrupt:
        raise
    except Exception:
        raise refused from refused.__cause__
    if not skipped:   # the download was not torch.hub's: it was refused, so the model was built without it
        raise refused
    shown = skipped[0] if len(skipped) == 1 else f"{skipped[0]} and {len(skipped) - 1} more"
    said = (f"built without its pretrained weights: the download of {shown} was skipped (the architecture, with the "
            f"initialisation its code gives)")
    return model, f"{note}; {said}" if note else said

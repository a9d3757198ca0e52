"""Linting without weights: building models on the meta device, and when to do it.

A model built under `building_on("meta")` has parameters with shapes and dtypes but no storage,
so a 7B-parameter model costs a few MB. Tracing and fake-tensor shape propagation need nothing
more; structural rules run unchanged; value rules use the init provenance (archlint.load.provenance)
or say why they could not measure.

Device choice (`--device`): "cpu" builds normally, "meta" always builds on meta. "auto" builds on the
CPU while the parameters registered stay at most CPU_FIRST_PARAMETERS (and `meta_above`): most models
are built once, as the user builds them. A larger model stops at the parameter that passes the limit,
before that parameter is initialised; the RNG is put back, and it is built on meta (cheap: init ops do
nothing on meta) to count its parameters, kept there when the count is above `meta_above`, and otherwise
built again on the CPU so value rules see real weights.

Some constructors compute with tensors (`torch.arange(...).tolist()` in RegNet's width schedule), which
fails when every tensor is on meta. Those are built a second way: ordinary tensors stay on the CPU and
each parameter moves to meta as it is registered (before its init ops run), then buffers follow.
"""
from __future__ import annotations

import contextlib
import itertools
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from torch import nn

from archlint.load.construction import building_on
from archlint.load.provenance import carry_record
from archlint.mechanics.errors import describe_exception
from archlint.mechanics.state import RngState
from archlint.mechanics.tensors import to_meta

DEVICES = ("cpu", "meta", "auto")
# fp32 weights of 1e9 parameters take 4 GB, before any copy a value rule would make.
DEFAULT_META_ABOVE = 1_000_000_000
# Under "auto", models up to this many parameters are built on the CPU at once: counting them on meta first
# cost 0.04-0.2 s a model. Above it, what is lost is the initialisation of the parameters registered before
# the one that passes the limit: VGG-16 stops at its first classifier layer (its 14.7M conv weights were
# initialised), a 7B LLM at its token embedding, before anything is initialised. At 150M, the 7B example
# initialised a 131M embedding and a 17M projection first: 4 s lost.
CPU_FIRST_PARAMETERS = 100_000_000


@dataclass
class BuiltModel:
    model: nn.Module
    device: str                 # where its weights live: "cpu" or "meta"
    note: str | None = None     # said in the report when archlint chose the device


def is_meta_model(model: nn.Module) -> bool:
    return any(t.is_meta for t in itertools.chain(model.parameters(), model.buffers()))


def lazy_layers(model: nn.Module) -> list[str]:
    """Paths of lazy layers (LazyLinear, LazyConv2d...) whose weights take shape only at the first forward."""
    return [path for path, m in model.named_modules()
            if isinstance(m, nn.modules.lazy.LazyModuleMixin) and m.has_uninitialized_params()]


def count_parameters(model: nn.Module) -> int:
    """Parameters counted once even when shared (tied embeddings)."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if id(p) not in seen and not isinstance(p, nn.parameter.UninitializedParameter):   # lazy: no size yet
            seen.add(id(p))
            total += p.numel()
    return total


def inputs_for(model: nn.Module, inputs: Sequence[Any]) -> tuple[Any, ...]:
    """Example inputs on the model's device: CPU tensors go to meta for a meta model."""
    return to_meta(inputs) if is_meta_model(model) else tuple(inputs)


def _meta_copy(param: nn.Parameter) -> nn.Parameter:
    attributes = dict(param.__dict__)
    attributes["requires_grad"] = param.requires_grad
    try:
        moved = type(param)(param.data.to("meta"), **attributes)
    except TypeError:  # a Parameter subclass with its own constructor signature
        moved = nn.Parameter(param.data.to("meta"), requires_grad=param.requires_grad)
    carry_record(param, moved)
    return moved


@contextlib.contextmanager
def _on_register(callback: Callable[[nn.Module, str, nn.Parameter], None]) -> Iterator[None]:
    """Within the block, `callback(module, name, param)` runs after every parameter registration
    (`self.weight = nn.Parameter(...)` included: Module.__setattr__ registers through it)."""
    original = nn.Module.register_parameter

    def register_parameter(self: nn.Module, name: str, param: nn.Parameter | None) -> None:
        original(self, name, param)
        if param is not None:
            callback(self, name, param)

    nn.Module.register_parameter = register_parameter  # type: ignore[method-assign]
    try:
        yield
    finally:
        nn.Module.register_parameter = original  # type: ignore[method-assign]


def parameters_on_meta() -> contextlib.AbstractContextManager[None]:
    """Every parameter registered inside the block is replaced by a meta copy at once (tensors stay on the CPU).

    A fresh `torch.empty` parameter is never written before it moves, so its CPU memory is not touched.
    """
    def to_meta_now(module: nn.Module, name: str, param: nn.Parameter) -> None:
        if not param.is_meta:
            module._parameters[name] = _meta_copy(param)

    return _on_register(to_meta_now)


class TooLargeForCpu(Exception):
    """A model above the meta-above threshold whose constructor cannot run on the meta device."""


class TooManyParameters(BaseException):
    """Raised at the registration that passes the limit. A BaseException: a constructor's own
    `except Exception` must not swallow it and go on building."""


def parameters_at_most(limit: int) -> contextlib.AbstractContextManager[None]:
    """Within the block, registering a parameter that brings the parameters alive (each counted once) past `limit`
    elements raises TooManyParameters. Alive: a script that builds several models one after the other, each
    replacing the last (a README's examples run in order), holds one at a time."""
    alive: dict[int, int] = {}
    total = [0]

    def release(key: int) -> None:
        total[0] -= alive.pop(key, 0)

    def count(module: nn.Module, name: str, param: nn.Parameter) -> None:
        if id(param) in alive or isinstance(param, nn.parameter.UninitializedParameter):
            return
        alive[id(param)] = param.numel()
        total[0] += param.numel()
        weakref.finalize(param, release, id(param))
        if total[0] > limit:
            raise TooManyParameters(f"more than {limit:,} parameters")

    return _on_register(count)


def _buffers_to_meta(model: nn.Module) -> None:
    for module in model.modules():
        for name, buffer in list(module._buffers.items()):
            if buffer is not None and not buffer.is_meta:
                module._buffers[name] = buffer.to("meta")


def build_on_meta(factory: Callable[[], nn.Module]) -> tuple[nn.Module, str | None]:
    """The model with every parameter and buffer on meta; a note when the second way was needed."""
    try:
        with building_on("meta"):
            return factory(), None
    except Exception as exc:
        first_error = describe_exception(exc)
    with building_on("cpu"), parameters_on_meta():
        model = factory()
    _buffers_to_meta(model)
    return model, (f"the constructor cannot run with all tensors on meta ({first_error[:120]}); built with "
                   f"ordinary tensors on the CPU and each parameter moved to meta as it was registered")


def build_model(factory: Callable[[], nn.Module], device: str = "auto",
                meta_above: int = DEFAULT_META_ABOVE) -> BuiltModel:
    """Build `factory()` on the requested device ("cpu", "meta" or "auto"); see the module docs."""
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; expected one of {', '.join(DEVICES)}")
    if device == "cpu":
        with building_on("cpu"):
            return BuiltModel(factory(), "cpu")
    if device == "meta":
        model, how = build_on_meta(factory)
        return BuiltModel(model, "meta", how)
    built = _cpu_first(factory, min(meta_above, CPU_FIRST_PARAMETERS))
    if built is not None:
        return built
    try:
        model, how = build_on_meta(factory)
    except Exception as exc:
        # the size could not be taken without weights (vit-pytorch's Dino builds torchvision augmentations that
        # call .item()): the constructor is run as the user runs it, up to `meta_above` parameters (a 7B model
        # would take the machine's memory)
        rng = RngState.capture()
        try:
            with building_on("cpu"), parameters_at_most(meta_above):
                model = factory()
        except TooManyParameters:
            rng.restore()
            raise TooLargeForCpu(f"it has more than {meta_above:,} parameters (the meta-above threshold), too many to "
                                 f"build with weights here, and it could not be built on the meta device: "
                                 f"{describe_exception(exc)[:200]}") from exc
        return BuiltModel(model, "cpu", f"built on the CPU: its size could not be counted on the meta device first "
                                        f"({describe_exception(exc)[:120]})")
    count = count_parameters(model)
    if count > meta_above:
        note = (f"built on the meta device (no weights allocated): {count:,} parameters is above the meta-above "
                f"threshold {meta_above:,}; value rules use init provenance or report what they could not measure")
        return BuiltModel(model, "meta", f"{note}; {how}" if how else note)
    del model
    with building_on("cpu"):
        return BuiltModel(factory(), "cpu")


def _cpu_first(factory: Callable[[], nn.Module], limit: int) -> BuiltModel | None:
    """The model built on the CPU, or None (RNG states put back) when its parameters pass `limit`."""
    rng = RngState.capture()
    try:
        with building_on("cpu"), parameters_at_most(limit):
            return BuiltModel(factory(), "cpu")
    except TooManyParameters:
        rng.restore()   # the next build starts where this one did: same weights as building it once
        return None


__all__ = ["BuiltModel", "CPU_FIRST_PARAMETERS", "DEFAULT_META_ABOVE", "DEVICES", "TooLargeForCpu", "build_model", "build_on_meta", "count_parameters", "inputs_for",
           "is_meta_model", "lazy_layers", "parameters_on_meta"]

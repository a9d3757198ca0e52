"""State a lint must leave as it found it: the RNGs, training flags and attributes of the user's model."""
from __future__ import annotations

import contextlib
import dataclasses
import random
from typing import Any, Iterator

# -- state that a lint must leave as it found it ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class RngState:
    """The Python, torch and numpy RNG states at one moment, to put back later."""

    python: Any
    torch: Any
    numpy: Any

    @classmethod
    def capture(cls) -> "RngState":
        import torch

        numpy = _numpy()
        return cls(random.getstate(), torch.get_rng_state(), numpy.random.get_state() if numpy else None)

    def restore(self) -> None:
        import torch

        random.setstate(self.python)
        torch.set_rng_state(self.torch)
        numpy = _numpy()
        if numpy is not None and self.numpy is not None:
            numpy.random.set_state(self.numpy)


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy


@contextlib.contextmanager
def preserved_rng(seed: int | None = None) -> Iterator[None]:
    """Restore the Python, torch and numpy RNG states on exit; with `seed`, seed all three on entry."""
    import torch

    saved = RngState.capture()
    if seed is not None:
        random.seed(seed)
        torch.manual_seed(seed)
        numpy = _numpy()
        if numpy is not None:
            numpy.random.seed(seed)
    try:
        yield
    finally:
        saved.restore()


@contextlib.contextmanager
def preserved_training_flags(model: Any, train: bool | None = None) -> Iterator[None]:
    """Restore every submodule's `training` flag on exit; with `train`, switch the whole model first."""
    flags = {m: m.training for m in model.modules()}
    if train is not None:
        model.train(train)
    try:
        yield
    finally:
        for module, flag in flags.items():
            module.training = flag


@contextlib.contextmanager
def preserved_attributes(model: Any) -> Iterator[None]:
    """Undo what a traced forward assigns on the model's modules: plain attributes and buffers (timm's ConViT
    sets `self.rel_indices = ...`, a buffer, in forward: a symbolic trace would leave a Proxy or a meta
    tensor there, and the next tracer would see it)."""
    import torch

    tables = ("_parameters", "_buffers", "_modules")
    # a scripted module's tables are views of its compiled state, which its forward cannot assign
    saved = [(module, dict(module.__dict__), {t: dict(getattr(module, t)) for t in tables}) for module in model.modules()
             if not isinstance(module, torch.jit.ScriptModule)]
    try:
        yield
    finally:
        for module, attributes, contents in saved:
            for table, before in contents.items():
                current = getattr(module, table)
                current.clear()
                current.update(before)
            for name in [n for n in module.__dict__ if n not in attributes]:
                del module.__dict__[name]
            for name, value in attributes.items():
                if module.__dict__.get(name) is not value:
                    module.__dict__[name] = value


def eval_mode(model: Any) -> contextlib.AbstractContextManager[None]:
    return preserved_training_flags(model, train=False)

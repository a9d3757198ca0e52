"""A lint never changes the user's model or the process: weights, flags, grads, hooks, RNG states.

Each model is linted with every installed rule (probe on), then compared with a snapshot taken
before: state_dict bit for bit, each module's training flag, each parameter's requires_grad and
.grad, the hooks registered on each module, and the torch / numpy / python RNG states.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import archlint
from archlint import Rule, hookimpl
from bad_inputs import load_case


@dataclass
class Snapshot:
    state: dict[str, tuple[torch.dtype, tuple[int, ...], bytes]]
    training: dict[str, bool]
    requires_grad: dict[str, bool]
    grads: dict[str, bytes | None]
    hooks: dict[str, tuple[int, int, int]]
    rng: tuple[Any, Any, Any]


def _bits(t: torch.Tensor) -> bytes:
    return t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes()


def rng_states() -> tuple[Any, Any, Any]:
    np_state = np.random.get_state()
    return torch.get_rng_state().clone(), (np_state[0], np_state[1].copy(), *np_state[2:]), random.getstate()


def snapshot(model: nn.Module) -> Snapshot:
    return Snapshot(
        state={k: (v.dtype, tuple(v.shape), _bits(v)) for k, v in model.state_dict(keep_vars=True).items()},
        training={name or "<root>": m.training for name, m in model.named_modules(remove_duplicate=False)},
        requires_grad={name: p.requires_grad for name, p in model.named_parameters(remove_duplicate=False)},
        grads={name: None if p.grad is None else _bits(p.grad)
               for name, p in model.named_parameters(remove_duplicate=False)},
        hooks={name or "<root>": (len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks))
               for name, m in model.named_modules(remove_duplicate=False)},
        rng=rng_states(),
    )


def assert_untouched(before: Snapshot, after: Snapshot) -> None:
    assert after.state.keys() == before.state.keys()
    changed = [k for k in before.state if before.state[k] != after.state[k]]
    assert not changed, f"state_dict entries changed by the lint: {changed}"
    assert after.training == before.training
    assert after.requires_grad == before.requires_grad
    assert after.grads == before.grads
    assert after.hooks == before.hooks
    torch_b, np_b, py_b = before.rng
    torch_a, np_a, py_a = after.rng
    assert torch.equal(torch_a, torch_b), "torch RNG state changed"
    assert np_a[0] == np_b[0] and np.array_equal(np_a[1], np_b[1]) and np_a[2:] == np_b[2:], "numpy RNG changed"
    assert py_a == py_b, "python RNG state changed"


class DataDependentBlock(nn.Module):
    """Control flow on tensor values: fx cannot trace into it, so a fallback tracer must run."""

    def __init__(self) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(8)
        self.conv = nn.Conv2d(8, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.mean() > 0:
            return self.conv(self.bn(x))
        return self.bn(x)


class NeedsFallback(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = DataDependentBlock()
        self.head = nn.Linear(8, 4)
        self.train()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.stem(x)).mean((2, 3)))


def _train_mode_bn() -> tuple[nn.Module, Any]:
    return load_case("models/train_mode_bn.py").TrainModeNet(), torch.randn(2, 3, 16, 16)


def _tied() -> tuple[nn.Module, Any]:
    return load_case("models/tied_weights.py").TiedLM().train(), torch.randint(0, 100, (2, 7))


def _half() -> tuple[nn.Module, Any]:
    return load_case("models/half_weights.py").HalfNet(), None


def _fallback() -> tuple[nn.Module, Any]:
    return NeedsFallback(), torch.randn(2, 3, 16, 16)


def _with_grads() -> tuple[nn.Module, Any]:
    model, x = _train_mode_bn()
    model.fc(torch.randn(3, 8)).sum().backward()   # the user is mid-training: .grad must survive
    return model, x


def _writes_buffers(name: str) -> Any:
    return lambda: (getattr(load_case("models/writes_buffers.py"), name)().train(), torch.randn(3, 4))


def _nan_weights() -> tuple[nn.Module, Any]:
    return load_case("models/nan_weights.py").Diverged(), torch.randn(2, 3, 8, 8)


MODELS = {"train-mode-bn": _train_mode_bn, "tied-lm": _tied, "half": _half, "fallback-tracer": _fallback,
          "existing-grads": _with_grads, "forward-writes-buffer": _writes_buffers("CountsCalls"),
          "opaque-leaf-writes-buffer": _writes_buffers("WrapsBranchy"), "nan-weights": _nan_weights,
          "top-level-branch-writes-buffer": _writes_buffers("BranchyCounter")}   # traced by one real forward
# Models archlint cannot trace at all: the failed attempts (the real forward among them) leave them untouched too.
UNTRACEABLE = {"branch-then-broken-writes-buffer": _writes_buffers("BranchyThenBroken")}


@pytest.mark.parametrize("build", [*MODELS.values(), *UNTRACEABLE.values()], ids=[*MODELS, *UNTRACEABLE])
def test_lint_leaves_model_and_rng_untouched(build: Any) -> None:
    torch.manual_seed(123)
    np.random.seed(123)
    random.seed(123)
    model, inputs = build()
    before = snapshot(model)
    report = archlint.check(model, inputs)
    if build in MODELS.values():
        assert report.models, f"model was not linted: {[str(e) for e in report.errors]}"
    else:
        assert [e.kind for e in report.errors if e.target == type(model).__name__] == ["trace"]
    assert_untouched(before, snapshot(model))


def test_forward_writing_a_buffer_is_a_note_not_an_internal_error() -> None:
    model, inputs = _writes_buffers("CountsCalls")()
    report = archlint.check(model, inputs)
    assert not [f for f in report.findings if f.code == "AL000"]
    assert any("calls" in n and "restored" in n for n in (note.text for note in report.models[0].notes)), report.models[0].notes
    assert float(model.calls) == 0.0


class Meddler(Rule):
    """A careless third-party rule: flips modes and flags and draws random numbers on the user's model."""

    code = "XT911"
    name = "meddler"
    summary = "touches everything it should not"

    def check(self, ctx: Any) -> list:
        ctx.model.train()
        ctx.model.eval()
        for p in ctx.model.parameters():
            p.requires_grad_(not p.requires_grad)
        torch.rand(5)
        np.random.rand(5)
        random.random()
        return []


class MeddlerPlugin:
    @hookimpl
    def archlint_rules(self) -> list[Rule]:
        return [Meddler()]


def test_careless_rule_cannot_change_flags_or_rng() -> None:
    model, inputs = _train_mode_bn()
    before = snapshot(model)
    report = archlint.check(model, inputs, plugins=(MeddlerPlugin(),))
    assert report.models
    assert_untouched(before, snapshot(model))


class InPlaceWriter(Rule):
    """A rule that writes into the user's weights: the runner must notice and say so."""

    code = "XT912"
    name = "in-place-writer"
    summary = "adds one to a weight"

    def check(self, ctx: Any) -> list:
        with torch.no_grad():
            ctx.model.fc.weight.add_(1.0)
        return []


class InPlacePlugin:
    @hookimpl
    def archlint_rules(self) -> list[Rule]:
        return [InPlaceWriter()]


def test_rule_writing_into_weights_is_caught_and_undone() -> None:
    model, inputs = _train_mode_bn()
    before = snapshot(model)
    report = archlint.check(model, inputs, plugins=(InPlacePlugin(),))
    internal = [f for f in report.findings if f.code == "AL000"]
    assert any("in-place-writer" in f.message and "fc.weight" in f.message for f in internal), \
        [f.message for f in internal]
    assert_untouched(before, snapshot(model))


def test_same_model_twice_gives_identical_json() -> None:
    model, inputs = _train_mode_bn()
    first = archlint.check(model, inputs).to_json()
    second = archlint.check(model, inputs).to_json()
    assert first == second

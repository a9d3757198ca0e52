"""Shapes on every node of a traced graph: one real run of a small model on copies, else meta tensors, else fake
tensors (`ShapePropagation`, which runs a value-dependent opaque leaf once for real)."""
from __future__ import annotations

import contextlib
import copy
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import fx, nn
from torch.fx.passes.fake_tensor_prop import FakeTensorProp

from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.profile import phase
from archlint.mechanics.shadowing import registered
from archlint.mechanics.tensors import to_meta, without_fx_traceback
from archlint.trace import fake
from archlint.trace.failures import input_mismatch
from archlint.trace.fake import OverBudget, as_meta, fake_mode
from archlint.trace.fit import quiet_torch
from archlint.trace.result import InputMismatch


def _real_like(value: Any, generator: torch.Generator) -> Any:
    if not isinstance(value, torch.Tensor):
        return value
    if value.dtype.is_floating_point:
        return torch.randn(tuple(value.shape), generator=generator).to(value.dtype)
    return torch.zeros(tuple(value.shape), dtype=value.dtype)


def _run_once_for_real(module: nn.Module, args: tuple, kwargs: dict) -> Any:
    """Run one opaque submodule on a random input of the right shape, on a copy (model untouched)."""
    if any(p.is_meta for p in module.parameters()):
        raise RuntimeError(f"{type(module).__name__} depends on tensor values and its weights are on the meta device, "
                           "so its output shape cannot be computed")
    generator = torch.Generator().manual_seed(0)
    real_args = fx.node.map_aggregate(args, lambda v: _real_like(v, generator))
    real_kwargs = fx.node.map_aggregate(kwargs, lambda v: _real_like(v, generator))
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        return copy.deepcopy(module)(*real_args, **real_kwargs)


class _NamingFakeTensorProp(FakeTensorProp):
    """FakeTensorProp whose failing node is handed to its owner, which may recover or raise a named mismatch."""

    def __init__(self, gm: fx.GraphModule, mode: Any, owner: "ShapePropagation"):
        super().__init__(gm, mode)
        self.owner = owner

    def fetch_attr(self, target: str) -> Any:
        return registered(self.module, target)   # `code` and `graph` are the GraphModule's own attributes too

    def run_node(self, n: fx.Node) -> Any:
        try:
            return super().run_node(n)
        except InputMismatch:
            raise
        except Exception as exc:
            return self.owner.recover(self, n, exc)


class ShapePropagation:
    """FakeTensorProp that names the node that failed, and runs value-dependent opaque leaves once."""

    def __init__(self, gm: fx.GraphModule, opaque_leaves: frozenset[str] = frozenset()):
        self.mode = fake_mode()
        self.opaque_leaves = opaque_leaves
        self.ran_for_real: list[str] = []
        self.prop = without_fx_traceback(_NamingFakeTensorProp(gm, self.mode, self))

    def recover(self, prop: Any, node: fx.Node, exc: BaseException) -> Any:
        if node.op == "call_module" and str(node.target) in self.opaque_leaves and Cause.DATA_DEPENDENT in causes(exc):
            args, kwargs = prop.fetch_args_kwargs_from_env(node)
            with _no_dispatch_modes():
                real = _run_once_for_real(registered(prop.module, str(node.target)), args, kwargs)
            self.ran_for_real.append(str(node.target))
            fake = fx.node.map_aggregate(real, lambda v: self.mode.from_tensor(v) if isinstance(v, torch.Tensor) else v)
            node.meta["val"] = fake
            return fake
        mismatch = None if Cause.DATA_DEPENDENT in causes(exc) else input_mismatch(prop, node, exc)
        if mismatch is not None:
            raise mismatch from exc
        raise exc

    def run(self, example_inputs: Sequence[Any]) -> None:
        fake_inputs = [self.mode.from_tensor(x) if isinstance(x, torch.Tensor) else x for x in example_inputs]
        with torch.no_grad():
            self.prop.propagate_dont_convert_inputs(*fake_inputs)


@contextlib.contextmanager
def _no_dispatch_modes() -> Iterator[None]:
    """Leave FakeTensorMode for a moment (to run one opaque submodule on real tensors)."""
    from torch.utils._python_dispatch import _disable_current_modes

    with _disable_current_modes():
        yield


def propagate_shapes(gm: fx.GraphModule, example_inputs: Sequence[Any],
                     opaque_leaves: frozenset[str] = frozenset()) -> list[str]:
    """Annotate every node with `meta['val']` by running fake (meta-backed) tensors through it.

    Returns the opaque leaves that had to run once on real tensors (see the module docstring).
    Raises InputMismatch, naming the layer, when the inputs do not fit it.
    """
    with phase("shape propagation"):
        if _propagate_directly(gm, example_inputs):
            return []
        propagation = ShapePropagation(gm, opaque_leaves)
        propagation.run(example_inputs)
    return propagation.ran_for_real


class _RecordedValues(fx.Interpreter):
    """Records a meta tensor of each node's output instead of writing it into the graph as it goes (a real
    run's activations are freed as usual: only their shapes and dtypes are kept). With `real`, a node that
    cannot take its input raises the InputMismatch that names it: no imitation of the run could say more."""

    def __init__(self, gm: fx.GraphModule, real: bool = False):
        super().__init__(gm)
        without_fx_traceback(self)
        self.real = real
        self.values: dict[fx.Node, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        try:
            result = super().run_node(n)
        except Exception as exc:
            mismatch = input_mismatch(self, n, exc) if self.real else None
            if mismatch is not None:
                raise mismatch from exc
            raise
        self.values[n] = as_meta(result)
        return result


def _propagate_directly(gm: fx.GraphModule, example_inputs: Sequence[Any]) -> bool:
    """Annotate the graph from one run on real tensors or meta tensors (trace/fake.py); False, leaving the graph
    as it was, when it runs on neither (the fake-tensor propagation then decides and explains). Raises
    InputMismatch when the real run shows a layer that cannot take its input."""
    if fake.real_run_cheaper(gm, example_inputs):
        try:
            return _record(gm, lambda: fake.on_real_copies(gm), tuple(example_inputs), real=True)
        except InputMismatch:
            raise
        except OverBudget:
            pass
        except Exception:
            return False    # the real run failed: meta tensors would too; the fake-tensor run decides
    try:
        return _record(gm, lambda: fake.on_meta(gm), to_meta(example_inputs))
    except Exception:
        return False


def _record(gm: fx.GraphModule, mode: Callable[[], Any], inputs: tuple[Any, ...], real: bool = False) -> bool:
    """Run the graph under `mode` and annotate every node with (a meta tensor of) its output."""
    interpreter = _RecordedValues(gm, real)
    with quiet_torch(), torch.no_grad(), mode():     # the mode innermost: it leaves first
        interpreter.run(*inputs)
    for node, value in interpreter.values.items():
        node.meta["val"] = value
    return True

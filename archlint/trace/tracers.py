"""From an nn.Module to a shape-annotated fx graph, trying tracers in a fixed order.

Order: plugins (`archlint_trace`), torch.fx symbolic tracing, fx with the failing submodules kept
as leaves, torch.export (non-strict), forward hooks (a module-level graph). Every attempt is
recorded so the report can say which tracer produced the graph and what was lost.
Shapes come from running the graph on meta tensors (trace/fake.py), or on fake tensors when it does not
run there: no real activation is allocated; except for a small CPU model in a process without torch._dynamo,
which runs once for real on copies of its tensors, under a budget (fake.py says why). The other
exception is a submodule that fx-leaves keeps opaque because its own control flow depends on
tensor values: fake tensors cannot decide such a branch, so that one submodule runs once, on a
copy, on a random input of the right shape (said so in `lost`).

The model is traced in eval mode (flags restored afterwards): the graph is the inference graph,
and `F.dropout(x, training=self.training)` is told apart from an always-on `F.dropout(x)`.
"""
from __future__ import annotations

import contextlib
import copy
import difflib
import inspect
import io
import logging
import operator
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import fx, nn

from archlint.load.device import inputs_for
from archlint.mechanics import (
    display_path, eval_mode, first_line, innermost_frame, is_user_file, phase, preserved_attributes, to_meta,
    without_fx_traceback,
)
from archlint.trace import fallbacks
from archlint.trace.fake import OverBudget, as_meta, fake_mode, on_meta, on_real_copies, real_run_cheaper

TRACER_ORDER = ("fx", "fx-leaves", "export", "hooks", "real-forward")
MODULE_CALLS_ONLY = frozenset({"hooks", "real-forward"})   # graphs without the operations between modules


@dataclass
class TraceAttempt:
    tracer: str
    ok: bool
    detail: str = ""


@dataclass
class TraceResult:
    """A traced model: `graph_module` nodes carry `meta['val']` fake tensors with shapes/dtypes."""

    graph_module: fx.GraphModule
    tracer: str
    lost: list[str] = field(default_factory=list)   # what this tracer could not see
    attempts: list[TraceAttempt] = field(default_factory=list)


class TraceFailure(Exception):
    """No tracer could handle the model: the message is one line naming the reason; `attempts` has each."""

    def __init__(self, attempts: list[TraceAttempt], reason: str | None = None):
        self.attempts = attempts
        self.reason = reason or next((a.detail for a in attempts if a.detail), "unknown reason")
        tried = ", ".join(a.tracer for a in attempts)
        super().__init__(f"could not trace the model: {self.reason}" + (f" (tried {tried})" if tried else ""))


class InputMismatch(Exception):
    """The example input does not fit a layer (shape, channels, dtype): no other tracer can help."""


# -- describing failures in one line -----------------------------------------------------------


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_first_line(exc)}"[:300]


def _first_line(exc: BaseException) -> str:
    # fx's Interpreter appends "While executing ..." and a traceback to messages
    return first_line(exc, type(exc).__name__)


def _user_frame(exc: BaseException) -> tuple[str, str] | None:
    """("Block.forward", "models.py:42") for the innermost frame of user code in the traceback."""
    found = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        file = code.co_filename
        if is_user_file(file):
            owner = tb.tb_frame.f_locals.get("self")
            func = f"{type(owner).__name__}.{code.co_name}" if isinstance(owner, nn.Module) else code.co_name
            found = (func, f"{display_path(file)}:{tb.tb_lineno}")
        tb = tb.tb_next
    return found


def _is_data_dependent(exc: BaseException) -> bool:
    from torch._subclasses.fake_tensor import DataDependentOutputException, DynamicOutputShapeException
    from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode

    names = ("GuardOnDataDependentSymNode", "DataDependentOutputException", "DynamicOutputShapeException")
    return isinstance(exc, (GuardOnDataDependentSymNode, DataDependentOutputException,
                            DynamicOutputShapeException)) or type(exc).__name__ in names or \
        "data-dependent" in str(exc) or "data dependent" in str(exc)


def describe_failure(exc: BaseException) -> str:
    """One line: what went wrong and where in the user's code."""
    if isinstance(exc, InputMismatch):
        return _first_line(exc)
    where = _user_frame(exc)
    at = f" in {where[0]} ({where[1]})" if where else ""
    if isinstance(exc, fx.proxy.TraceError) and "control flow" in str(exc):
        return f"control flow on a tensor value{at}"
    if isinstance(exc, fx.proxy.TraceError) and "iterate" in str(exc):
        return f"iteration over a tensor{at}"
    if _is_data_dependent(exc):
        return f"data-dependent control flow{at}"
    return f"{_short(exc)}{at}"


def _shapes_text(inputs: Sequence[Any]) -> str:
    return ", ".join(str(list(x.shape)) for x in inputs if isinstance(x, torch.Tensor)) or "the example inputs"


def _failure_reason(attempts: list[TraceAttempt], errors: list[BaseException], inputs: Sequence[Any] = ()) -> str:
    """The most useful reason: a bad input first, then a forward that fails when simply run, then data
    dependence, then the first tracer's."""
    for exc in errors:
        if isinstance(exc, InputMismatch):
            return _first_line(exc)
    if attempts and attempts[-1].tracer == "real-forward" and errors and _user_frame(errors[-1]) \
            and not isinstance(errors[-1], fallbacks.RealForwardTooLarge) and attempts[-1].detail != attempts[0].detail:
        # the model's own forward fails when simply run on this input: that, not a tracer's limit, is the cause
        return f"the forward fails when run on an input of shape {_shapes_text(inputs)}: {attempts[-1].detail}"
    for exc in errors:
        if _is_data_dependent(exc) and _user_frame(exc):
            return describe_failure(exc)
    return attempts[0].detail if attempts else "unknown reason"


# -- fx tracers ----------------------------------------------------------------------------------


def _user_code_frame() -> Any:
    """The innermost frame of the user's code (outside torch and archlint) on the current stack."""
    frame = sys._getframe(2)
    while frame is not None:
        filename = frame.f_code.co_filename
        if is_user_file(filename):
            return frame
        frame = frame.f_back
    return None


class _Tracer(fx.Tracer):
    def __init__(self, extra_leaves: frozenset[str] = frozenset()):
        super().__init__()
        self.extra_leaves = extra_leaves

    def create_node(self, *args: Any, **kwargs: Any) -> fx.Node:
        # fx's own record_stack_traces symbolizes through torch._dynamo (a ~3 s import); one frame is all we need.
        node = super().create_node(*args, **kwargs)
        frame = _user_code_frame()
        if frame is not None:
            node.stack_trace = f'File "{frame.f_code.co_filename}", line {frame.f_lineno}, in {frame.f_code.co_name}\n'
        return node

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return qualname in self.extra_leaves or super().is_leaf_module(m, qualname)


class _LeafOnFailureTracer(_Tracer):
    """Traces through submodules, but keeps one as an opaque leaf when tracing into it fails."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_leaves: list[tuple[str, str]] = []

    def call_module(self, m: nn.Module, forward: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
        qualname = self.path_of_module(m)
        if self.is_leaf_module(m, qualname):
            return super().call_module(m, forward, args, kwargs)
        stack, calls = self.module_stack.copy(), dict(self.num_calls)
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception as exc:
            # fx leaves its module stack half-pushed when a forward raises; put it back.
            self.module_stack.clear()
            self.module_stack.update(stack)
            self.num_calls = calls
            self.failed_leaves.append((qualname, describe_failure(exc)))
            self.extra_leaves = self.extra_leaves | {qualname}
            return super().call_module(m, forward, args, kwargs)


def symbolic_trace(model: nn.Module, leaves: frozenset[str] = frozenset()) -> fx.GraphModule:
    tracer = _Tracer(leaves)
    graph = tracer.trace(model)
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def trace_with_leaves(model: nn.Module) -> tuple[fx.GraphModule, list[tuple[str, str]]]:
    tracer = _LeafOnFailureTracer()
    graph = tracer.trace(model)
    if not tracer.failed_leaves:
        raise RuntimeError("no submodule failed, so leaves cannot help")
    gm = fx.GraphModule(tracer.root, graph, type(model).__name__)
    gm.graph.eliminate_dead_code()  # nodes recorded inside a submodule before it failed
    gm.recompile()
    return gm, tracer.failed_leaves


# -- shapes ----------------------------------------------------------------------------------------




def _layer_expectation(name: str, module: nn.Module, got: tuple[int, ...]) -> str | None:
    """What a standard layer expected of its input, when `got` does not fit: None if it fits."""
    if isinstance(module, nn.modules.conv._ConvNd):
        dims = len(module.kernel_size)
        if len(got) not in (dims + 1, dims + 2):
            return f"{name} expected a {dims + 2}-d input (N, C, {', '.join('*' * dims)}), got shape {list(got)}"
        if got[-dims - 1] != module.in_channels:
            return f"{name} expected {module.in_channels} input channels, got {got[-dims - 1]} (input shape {list(got)})"
    if isinstance(module, nn.Linear) and got[-1:] != (module.in_features,):
        return f"{name} expected {module.in_features} input features, got {got[-1] if got else 0} (input shape {list(got)})"
    if isinstance(module, nn.modules.batchnorm._NormBase) and len(got) > 1 and got[1] != module.num_features:
        return f"{name} expected {module.num_features} channels, got {got[1]} (input shape {list(got)})"
    return None


def _mismatch_message(node: fx.Node, module: nn.Module | None, args: tuple, exc: BaseException) -> str | None:
    """Which layer expected what ("conv1 (Conv2d) expected 3 input channels, got 1"); None if not an input problem."""
    shapes = [tuple(a.shape) for a in args if isinstance(a, torch.Tensor)]
    got = shapes[0] if shapes else None
    if module is not None:
        name = f"{node.target} ({type(module).__name__})"
        expected = _layer_expectation(name, module, got) if got is not None else None
        if expected or not _is_shape_error(exc):
            return expected
        return f"{name} cannot take input of shape {list(got) if got else '?'}: {_short(exc)}"
    where = _stack_location(node)
    if node.target is operator.getitem and len(node.args) > 1 and isinstance(node.args[1], str) and got is not None:
        key = node.args[1]
        return (f"the forward reads its input as a dict ([{key!r}]{f' at {where}' if where else ''}) and archlint gave "
                f"it a tensor of shape {list(got)}; define example_inputs() returning ({{{key!r}: tensor}},) "
                "next to the model")
    if "same device" in str(exc) and "cuda" in str(exc):
        return (f"the forward makes a tensor on a GPU{f' at {where}' if where else ''} while the model and its input "
                f"are on the CPU ({_short(exc)}); create it on the input's device (device=x.device) to lint it here")
    if not _is_shape_error(exc) or not shapes:
        return None   # no tensor went in (`~mask` with mask None): not the input's fault; other tracers may pass
    return f"{node.target if isinstance(node.target, str) else getattr(node.target, '__name__', node.target)}" \
        f"{f' at {where}' if where else ''} cannot take inputs of shapes {[list(s) for s in shapes]}: {_short(exc)}"


def _stack_location(node: fx.Node) -> str | None:
    import re

    trace = node.stack_trace or ""
    for file, line in reversed(re.findall(r'File "([^"]+)", line (\d+)', trace)):
        if is_user_file(file):
            return f"{display_path(file)}:{line}"
    return None


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


class ShapePropagation:
    """FakeTensorProp that names the node that failed, and runs value-dependent opaque leaves once."""

    def __init__(self, gm: fx.GraphModule, opaque_leaves: frozenset[str] = frozenset()):
        from torch.fx.passes.fake_tensor_prop import FakeTensorProp

        self.mode = fake_mode()
        self.opaque_leaves = opaque_leaves
        self.ran_for_real: list[str] = []
        outer = self

        class _Prop(FakeTensorProp):
            def run_node(self, n: fx.Node) -> Any:
                try:
                    return super().run_node(n)
                except InputMismatch:
                    raise
                except Exception as exc:
                    return outer.recover(self, n, exc)

        self.prop = without_fx_traceback(_Prop(gm, self.mode))

    def recover(self, prop: Any, node: fx.Node, exc: BaseException) -> Any:
        if node.op == "call_module" and str(node.target) in self.opaque_leaves and _is_data_dependent(exc):
            args, kwargs = prop.fetch_args_kwargs_from_env(node)
            with _no_dispatch_modes():
                real = _run_once_for_real(prop.module.get_submodule(str(node.target)), args, kwargs)
            self.ran_for_real.append(str(node.target))
            fake = fx.node.map_aggregate(real, lambda v: self.mode.from_tensor(v) if isinstance(v, torch.Tensor) else v)
            node.meta["val"] = fake
            return fake
        mismatch = None if _is_data_dependent(exc) else input_mismatch(prop, node, exc)
        if mismatch is not None:
            raise mismatch from exc
        raise exc

    def run(self, example_inputs: Sequence[Any]) -> None:
        fake_inputs = [self.mode.from_tensor(x) if isinstance(x, torch.Tensor) else x for x in example_inputs]
        with torch.no_grad():
            self.prop.propagate_dont_convert_inputs(*fake_inputs)


def input_mismatch(interpreter: fx.Interpreter, node: fx.Node, exc: BaseException) -> InputMismatch | None:
    """The InputMismatch naming the layer that could not take its input, or None when `exc` is something else."""
    if node.op not in ("call_module", "call_function", "call_method") \
            or not isinstance(exc, (RuntimeError, ValueError, IndexError, TypeError, AssertionError)):
        return None
    args, _ = interpreter.fetch_args_kwargs_from_env(node)
    module = interpreter.module.get_submodule(str(node.target)) if node.op == "call_module" else None
    message = _mismatch_message(node, module, args, exc)
    return InputMismatch(message) if message else None


def _is_shape_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("shape", "size", "channels", "dim", "expected", "mat1", "dtype",
                                         "must match", "cannot be multiplied", "type", "mismatch"))


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
    if real_run_cheaper(gm, example_inputs):
        try:
            return _record(gm, lambda: on_real_copies(gm), tuple(example_inputs), real=True)
        except InputMismatch:
            raise
        except OverBudget:
            pass
        except Exception:
            return False    # the real run failed: meta tensors would too; the fake-tensor run decides
    try:
        return _record(gm, lambda: on_meta(gm), to_meta(example_inputs))
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


# -- the tracer sequence ----------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_torch() -> Iterator[None]:
    """torch.export logs failed graphs and warnings; a failed attempt is reported by us, in one line."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def runs_on(model: nn.Module, example_inputs: Sequence[Any]) -> bool:
    """Whether the model's forward accepts these inputs: checked by running it for real when that is cheaper
    (trace/fake.py), else on meta tensors, else on fake tensors (no activation allocated)."""
    inputs = inputs_for(model, example_inputs)
    if real_run_cheaper(model, inputs):
        try:
            return _forward(model, lambda: on_real_copies(model), inputs)
        except OverBudget:
            pass
        except Exception as exc:
            if not _out_of_memory(exc):
                return False    # the real forward failed: that is the answer, no cheaper imitation can overrule it
    # meta before fake: several times cheaper; fake tensors decide when the meta run fails
    for mode, given in ((lambda: on_meta(model), to_meta(inputs)), (fake_mode, inputs)):
        try:
            return _forward(model, mode, given)
        except Exception:
            continue
    return False


def _forward(model: nn.Module, mode: Callable[[], Any], inputs: Sequence[Any]) -> bool:
    """One eval forward under `mode` (innermost, so it leaves first); True, or the forward's exception."""
    with eval_mode(model), quiet_torch(), torch.no_grad(), mode():
        model(*inputs)
    return True


def _out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "can't allocate memory" in str(exc)


def shape_specialized_trace(model: nn.Module, inputs: tuple[Any, ...]) -> fx.GraphModule:
    """A symbolic trace whose proxies carry meta tensors of the inputs' shapes, so control flow on shapes
    (`if x.shape[-2] < 7:` in timm's VGG head) takes the branch these inputs take. Only for forwards whose
    positional parameters are all given tensors."""
    parameters = [p for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(inputs) > len(parameters) or not all(isinstance(x, torch.Tensor) for x in inputs):
        raise RuntimeError("shape-specialised tracing needs tensor inputs for positional parameters")
    meta = {p.name: x.to("meta") for p, x in zip(parameters, inputs)}
    from torch.fx.experimental.meta_tracer import MetaTracer   # only when plain fx stopped at control flow

    class _ShapeTracer(_Tracer, MetaTracer):
        """fx with the input shapes known."""

    with warnings.catch_warnings(), preserved_attributes(model):
        warnings.simplefilter("ignore")   # it warns for every op whose meta output it cannot compute
        tracer = _ShapeTracer()
        graph = tracer.trace(model, meta_args=meta)
    return fx.GraphModule(tracer.root, graph, type(model).__name__)


def _fx_plain(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[fx.GraphModule, list[str]]:
    try:
        gm, lost = symbolic_trace(model), []
    except fx.proxy.TraceError as exc:
        if "control flow" not in str(exc):
            raise
        try:   # the branch may be on a shape, not a value: trace again with the shapes known
            gm = shape_specialized_trace(model, inputs)
        except Exception:
            raise exc from None
        where = _user_frame(exc)
        at = f" in {where[0]} ({where[1]})" if where else ""
        lost = [f"control flow{at} was resolved for these input shapes: only the branch they take is in the graph"]
    propagate_shapes(gm, inputs)
    return gm, lost


def _fx_leaves(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[fx.GraphModule, list[str]]:
    gm, failed = trace_with_leaves(model)
    ran = propagate_shapes(gm, inputs, frozenset(path for path, _ in failed))
    lost = [f"{path} ({type(model.get_submodule(path)).__name__}) is one opaque layer: {why}" for path, why in failed]
    lost += [f"{path}: its output shape comes from running it once on a random input of the right shape "
             "(the branch taken may differ on real data)" for path in ran]
    return gm, lost


def _builtin_tracers(errors: list[BaseException]) -> tuple[tuple[str, Callable[[nn.Module, tuple[Any, ...]], tuple[fx.GraphModule, list[str]]]], ...]:
    """The tracers in order; the last one, a real forward, reads the earlier failures (`errors`, filled as they
    happen) to say what happened at the lines where the symbolic tracers stopped."""
    return (("fx", _fx_plain), ("fx-leaves", _fx_leaves),
            ("export", fallbacks.export_graph), ("hooks", fallbacks.hooks_graph),
            ("real-forward", lambda model, inputs: _real_forward(model, inputs, errors)))


def _try_plugin(plugin_trace: Callable[..., TraceResult | None], model: nn.Module, inputs: tuple[Any, ...],
                attempts: list[TraceAttempt]) -> TraceResult | None:
    try:
        result = plugin_trace(model=model, example_inputs=inputs)
    except Exception as exc:
        attempts.append(TraceAttempt("plugin", False, describe_failure(exc)))
        return None
    if result is None:
        return None
    attempts.append(TraceAttempt(result.tracer, True))
    result.attempts = attempts + result.attempts
    return result


def trace_model(model: nn.Module, example_inputs: Sequence[Any],
                plugin_trace: Callable[..., TraceResult | None] | None = None) -> TraceResult:
    """Try every tracer in order; return the first that yields a shape-annotated graph.

    Raises TraceFailure (one-line message naming the reason) when none can.
    """
    attempts: list[TraceAttempt] = []
    errors: list[BaseException] = []
    missing = _missing_forward(model)
    if missing:
        raise TraceFailure([], missing)
    inputs = inputs_for(model, example_inputs)
    with eval_mode(model), quiet_torch():
        if plugin_trace is not None:
            result = _try_plugin(plugin_trace, model, inputs, attempts)
            if result is not None:
                return result
        for name, build in _builtin_tracers(errors):
            try:
                gm, lost = build(model, inputs)
            except Exception as exc:
                errors.append(exc)
                attempts.append(TraceAttempt(name, False, describe_failure(exc)))
                if isinstance(exc, InputMismatch):
                    break  # the input is wrong: other tracers would fail the same way
                continue
            attempts.append(TraceAttempt(name, True, "; ".join(lost)))
            return TraceResult(gm, name, lost, list(attempts))
    raise TraceFailure(attempts, _failure_reason(attempts, errors, inputs))


def _missing_forward(model: nn.Module) -> str | None:
    """Why the model cannot run at all: its class defines no forward() (often a misspelt one)."""
    if getattr(type(model).forward, "__name__", "") != "_forward_unimplemented":
        return None
    methods = [name for cls in type(model).__mro__ if not cls.__module__.startswith("torch.")
               for name, value in vars(cls).items() if callable(value)]
    close = difflib.get_close_matches("forward", methods, n=1, cutoff=0.7)
    hint = ""
    if close:
        function = inspect.unwrap(getattr(type(model), close[0]))
        code = getattr(function, "__code__", None)
        at = f" at {display_path(code.co_filename)}:{code.co_firstlineno}" if code else ""
        hint = f"; it has `{close[0]}`{at}: a misspelling of forward?"
    return f"{type(model).__name__} defines no forward() method, so it cannot run{hint}"


def _branch_lines(errors: list[BaseException]) -> list[tuple[str, int]]:
    """(file, line) of the user's code where a symbolic tracer stopped: a branch on a tensor value, `.item()`,
    a NumPy round trip. The real forward says what happened there for its input."""
    lines = []
    for exc in errors:
        frame = innermost_frame(exc.__traceback__, keep=is_user_file)
        if frame is not None and frame.lineno is not None:
            lines.append((frame.filename, frame.lineno))
    return sorted(set(lines))


def _real_forward(model: nn.Module, inputs: tuple[Any, ...],
                  errors: list[BaseException]) -> tuple[fx.GraphModule, list[str]]:
    """Every symbolic tracer failed: one real forward (branches on tensor values, NumPy round trips).

    An input that does not fit a layer never gets here (the other tracers stop at it); a forward that is
    simply broken fails the same way for real, and the symbolic failure still explains it.
    """
    return fallbacks.real_hooks_graph(model, inputs, _branch_lines(errors),
                                      describe_failure(errors[0]) if errors else "")


__all__ = ["TraceAttempt", "TraceResult", "TraceFailure", "InputMismatch", "trace_model", "propagate_shapes",
           "symbolic_trace", "trace_with_leaves", "describe_failure", "fake_mode", "MODULE_CALLS_ONLY", "TRACER_ORDER"]

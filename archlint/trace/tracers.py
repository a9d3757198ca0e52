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

import inspect
from typing import Any, Callable, Sequence

from torch import fx, nn

from archlint.load.device import inputs_for
from archlint.load.errors import lacked_name_used
from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.entry_method import forward_only_raises, has_forward, misspelt_forward, why_no_method
from archlint.mechanics.frames import innermost_frame, is_user_file
from archlint.mechanics.state import eval_mode, preserved_attributes
from archlint.plugin.results import TargetCause
from archlint.trace import fallbacks
from archlint.trace.failures import describe_failure, failure_reason, user_frame
from archlint.trace.fit import quiet_torch
from archlint.trace.result import InputMismatch, TraceAttempt, TraceFailure, TraceResult
from archlint.trace.symbolic import fx_leaves, fx_plain


def _builtin_tracers(errors: list[BaseException]) -> tuple[tuple[str, Callable[[nn.Module, tuple[Any, ...]], tuple[fx.GraphModule, list[str]]]], ...]:
    """The tracers in order; the last one, a real forward, reads the earlier failures (`errors`, filled as they
    happen) to say what happened at the lines where the symbolic tracers stopped."""
    return (("fx", fx_plain), ("fx-leaves", fx_leaves),
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
                plugin_trace: Callable[..., TraceResult | None] | None = None, first: str = "") -> TraceResult:
    """Try every tracer in order (the one named `first` before the others); return the first that yields a
    shape-annotated graph.

    Raises TraceFailure (one-line message naming the reason) when none can.
    """
    attempts: list[TraceAttempt] = []
    errors: list[BaseException] = []
    missing = _missing_forward(model) or _required_keywords(model)
    if missing:
        raise TraceFailure([], missing)
    inputs = inputs_for(model, example_inputs)
    with eval_mode(model), quiet_torch():
        if plugin_trace is not None:
            result = _try_plugin(plugin_trace, model, inputs, attempts)
            if result is not None:
                return result
        for name, build in sorted(_builtin_tracers(errors), key=lambda tracer: tracer[0] != first):
            try:
                # what a forward assigns on the model (`self.mean = self.mean.type_as(x)`) is undone after each
                # tracer: a symbolic one would leave a proxy there for the next, and a lint never changes the model
                with preserved_attributes(model):
                    gm, lost = build(model, inputs)
            except Exception as exc:
                errors.append(exc)
                attempts.append(TraceAttempt(name, False, describe_failure(exc)))
                if isinstance(exc, InputMismatch):
                    break  # the input is wrong: other tracers would fail the same way
                continue
            attempts.append(TraceAttempt(name, True, "; ".join(lost)))
            return TraceResult(gm, name, lost, list(attempts))
    package = next((exc for exc in errors if isinstance(exc, ModuleNotFoundError) and exc.name
                    and "." not in exc.name), None)
    if package is not None:   # the forward imports (or uses) a package this machine lacks: no tracer can help
        where = user_frame(package)
        raise TraceFailure(attempts, f"the forward needs the package {package.name!r}, which is not installed here"
                                     f"{f' (at {where[1]})' if where else ''}; install it (pip install "
                                     f"{package.name}) to lint this model", TargetCause.MISSING_PACKAGE)
    lacked = next((said for said in map(lambda exc: lacked_name_used(exc, "forward"), errors) if said), None)
    if lacked is not None:   # the forward uses a name its file imported from another version of a package
        raise TraceFailure(attempts, lacked, TargetCause.VERSION_CONFLICT)
    fits = not any(isinstance(exc, InputMismatch) for exc in errors)
    raise TraceFailure(attempts, failure_reason(attempts, errors, inputs),
                       TargetCause.UNTRACEABLE if fits else TargetCause.NO_INPUT_FITS,
                       any(Cause.NO_PROCESS_GROUP in causes(exc) for exc in errors))


def _missing_forward(model: nn.Module) -> str | None:
    """Why the model cannot run at all: its class defines no forward() (often a misspelt one)."""
    if has_forward(model):
        return None
    raises = forward_only_raises(model)
    if raises is not None:   # a forward not written yet, or one the model is not used through
        return f"{type(model).__name__}.forward() only raises: {raises}{why_no_method(model)}"
    misspelt = misspelt_forward(model)
    hint = f"; it has {misspelt}: a misspelling of forward?" if misspelt else why_no_method(model)
    return f"{type(model).__name__} defines no forward() method, so it cannot run{hint}"


def _required_keywords(model: nn.Module) -> str | None:
    """Why positional example inputs cannot run the forward: it requires keyword-only arguments."""
    try:
        parameters = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return None
    required = [p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.default is p.empty]
    if not required:
        return None
    names = ", ".join(f"`{name}`" for name in required)
    return (f"{type(model).__name__}.forward requires the keyword-only argument{'s' if len(required) > 1 else ''} "
            f"{names}, and archlint feeds a model positional inputs: lint a small wrapper module whose forward(x, "
            f"...) calls the model with {'them' if len(required) > 1 else 'it'}")


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

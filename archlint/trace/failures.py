"""A failed trace or shape run in one line: what went wrong, where in the user's code, and which layer could not
take its input."""
from __future__ import annotations

import operator
from typing import Any, Sequence

import torch
from torch import fx, nn

from archlint.mechanics.causes import Cause, causes
from archlint.mechanics.errors import first_line
from archlint.mechanics.frames import is_user_file
from archlint.mechanics.source import display_path
from archlint.mechanics.shadowing import registered
from archlint.trace import fallbacks
from archlint.trace.result import InputMismatch, TraceAttempt


def short_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_first_line(exc)}"[:300]


def _first_line(exc: BaseException) -> str:
    # fx's Interpreter appends "While executing ..." and a traceback to messages
    return first_line(exc, type(exc).__name__)


def user_frame(exc: BaseException) -> tuple[str, str] | None:
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


def describe_failure(exc: BaseException) -> str:
    """One line: what went wrong and where in the user's code."""
    if isinstance(exc, InputMismatch):
        return _first_line(exc)
    where = user_frame(exc)
    at = f" in {where[0]} ({where[1]})" if where else ""
    if Cause.CONTROL_FLOW in causes(exc):
        return f"control flow on a tensor value{at}"
    if Cause.ITERATION in causes(exc):
        return f"iteration over a tensor{at}"
    if Cause.DATA_DEPENDENT in causes(exc):
        return f"data-dependent control flow{at}"
    return f"{short_text(exc)}{at}"


def _shapes_text(inputs: Sequence[Any]) -> str:
    return ", ".join(str(list(x.shape)) for x in inputs if isinstance(x, torch.Tensor)) or "the example inputs"


def failure_reason(attempts: list[TraceAttempt], errors: list[BaseException], inputs: Sequence[Any] = ()) -> str:
    """The most useful reason: a bad input first, then a forward that fails when simply run, then data
    dependence, then the first tracer's."""
    for exc in errors:
        if isinstance(exc, InputMismatch):
            return _first_line(exc)
    if attempts and attempts[-1].tracer == "real-forward" and errors and user_frame(errors[-1]) \
            and not isinstance(errors[-1], fallbacks.RealForwardTooLarge) and attempts[-1].detail != attempts[0].detail:
        # the model's own forward fails when simply run on this input: that, not a tracer's limit, is the cause
        return f"the forward fails when run on an input of shape {_shapes_text(inputs)}: {attempts[-1].detail}"
    for exc in errors:
        if Cause.DATA_DEPENDENT in causes(exc) and user_frame(exc):
            return describe_failure(exc)
    return attempts[0].detail if attempts else "unknown reason"


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
        if expected or not Cause.SHAPE_MISMATCH in causes(exc):
            return expected
        return f"{name} cannot take input of shape {list(got) if got else '?'}: {short_text(exc)}"
    where = _stack_location(node)
    if node.target is operator.getitem and len(node.args) > 1 and isinstance(node.args[1], str) and got is not None:
        key = node.args[1]
        return (f"the forward reads its input as a dict ([{key!r}]{f' at {where}' if where else ''}) and archlint gave "
                f"it a tensor of shape {list(got)}; define example_inputs() returning ({{{key!r}: tensor}},) "
                "next to the model")
    if Cause.GPU_TENSOR_ON_CPU_RUN in causes(exc):
        return (f"the forward makes a tensor on a GPU{f' at {where}' if where else ''} while the model and its input "
                f"are on the CPU ({short_text(exc)}); create it on the input's device (device=x.device) to lint it here")
    if not Cause.SHAPE_MISMATCH in causes(exc) or not shapes:
        return None   # no tensor went in (`~mask` with mask None): not the input's fault; other tracers may pass
    return f"{node.target if isinstance(node.target, str) else getattr(node.target, '__name__', node.target)}" \
        f"{f' at {where}' if where else ''} cannot take inputs of shapes {[list(s) for s in shapes]}: {short_text(exc)}"


def _stack_location(node: fx.Node) -> str | None:
    import re

    trace = node.stack_trace or ""
    for file, line in reversed(re.findall(r'File "([^"]+)", line (\d+)', trace)):
        if is_user_file(file):
            return f"{display_path(file)}:{line}"
    return None


def input_mismatch(interpreter: fx.Interpreter, node: fx.Node, exc: BaseException) -> InputMismatch | None:
    """The InputMismatch naming the layer that could not take its input, or None when `exc` is something else."""
    if node.op not in ("call_module", "call_function", "call_method") \
            or not isinstance(exc, (RuntimeError, ValueError, IndexError, TypeError, AssertionError)):
        return None
    args, _ = interpreter.fetch_args_kwargs_from_env(node)
    module = registered(interpreter.module, str(node.target)) if node.op == "call_module" else None
    message = _mismatch_message(node, module, args, exc)
    return InputMismatch(message) if message else None



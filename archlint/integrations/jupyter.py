"""`%load_ext archlint`: the `%archlint` line magic and the `%%archlint` cell magic.

    %archlint model [inputs] [--select CODES] [--ignore CODES] [--no-probe] [--input-shape 1,3,32,32] ...
    %%archlint [options]        # runs the cell, then lints every model it defines

The magics return an `archlint.Report`, which draws itself in the notebook (findings, fixes, measured effects and
plots: `Report._repr_html_`). A bad option or an expression that is not a model is one line in the cell's output
(a UsageError), never a traceback.
"""
from __future__ import annotations

import argparse
import shlex
from typing import Any

from torch import nn

from archlint.api import check_built_model
from archlint.load.inputs import InputInferenceError, inputs_from_shape, parse_input_shapes
from archlint.plugin.results import ErrorKind, OutputStyle, Report, TargetCause, TargetError
from archlint.run.setup import open_run


class MagicUsageError(Exception):
    """A magic's line that cannot be run: one line for the user."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:     # argparse would exit the kernel's process
        raise MagicUsageError(f"%archlint: {message}")


def _parser(line_magic: bool) -> argparse.ArgumentParser:
    parser = _Parser(prog="%archlint" if line_magic else "%%archlint", add_help=False)
    if line_magic:
        parser.add_argument("model", help="an expression giving the model (an nn.Module instance or class)")
        parser.add_argument("inputs", nargs="?", help="an expression giving a tensor or a tuple of tensors")
    parser.add_argument("--select", action="append", default=[])
    parser.add_argument("--extend-select", action="append", default=[])
    parser.add_argument("--ignore", action="append", default=[])
    parser.add_argument("--no-probe", action="store_true")
    parser.add_argument("--input-shape", action="append", default=[])
    parser.add_argument("--device", choices=("cpu", "meta", "auto"))
    return parser


def _codes(values: list[str]) -> list[str]:
    return [code.strip() for value in values for code in value.split(",") if code.strip()]


def _settings(options: argparse.Namespace) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if options.select:
        settings["select"] = _codes(options.select)
    if options.extend_select:
        settings["extend_select"] = _codes(options.extend_select)
    if options.ignore:
        settings["ignore"] = _codes(options.ignore)
    if options.no_probe:
        settings["probe"] = False
    if options.device:
        settings["device"] = options.device
    return settings


def _given_inputs(options: argparse.Namespace, namespace: dict[str, Any], expression: str | None) -> Any:
    if options.input_shape:
        return inputs_from_shape(list(parse_input_shapes(options.input_shape)))
    if expression:
        return _evaluate(expression, namespace, "inputs")
    return None


def _evaluate(expression: str, namespace: dict[str, Any], what: str) -> Any:
    try:
        return eval(expression, namespace)   # the user's own expression, in the user's own namespace
    except Exception as exc:
        raise MagicUsageError(f"%archlint: cannot evaluate the {what} `{expression}`: {type(exc).__name__}: {exc}") \
            from None


def lint_line(line: str, namespace: dict[str, Any]) -> Report:
    """`%archlint model [inputs] [options]`."""
    options = _parser(True).parse_args(shlex.split(line))
    model = _evaluate(options.model, namespace, "model")
    if not isinstance(model, nn.Module) and not (isinstance(model, type) and issubclass(model, nn.Module)):
        raise MagicUsageError(f"%archlint: `{options.model}` is a {type(model).__name__}, not an nn.Module")
    try:
        inputs = _given_inputs(options, namespace, options.inputs)
        return check_built_model(model, inputs, name=options.model, plots=True, **_settings(options))
    except (ValueError, InputInferenceError, TypeError) as exc:
        raise MagicUsageError(f"%archlint: {exc}") from None


def models_defined(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, Any]]:
    """The models a cell defined: names it bound to an nn.Module instance, and nn.Module classes it defined that
    no instance of the cell already stands for."""
    changed = [(name, value) for name, value in after.items()
               if not name.startswith("_") and (name not in before or before[name] is not value)]
    instances = [(name, value) for name, value in changed if isinstance(value, nn.Module)]
    built_classes = {type(value) for _, value in instances}
    classes = [(name, value) for name, value in changed if isinstance(value, type) and issubclass(value, nn.Module)
               and value.__module__ == "__main__" and value not in built_classes]
    return instances + classes


def lint_cell(line: str, cell: str, shell: Any) -> Report:
    """`%%archlint [options]`: run the cell as the notebook would, then lint the models it defined (one run: one
    plugin host for all of them)."""
    options = _parser(False).parse_args(shlex.split(line))
    before = dict(shell.user_ns)
    result = shell.run_cell(cell)
    host = open_run()
    report = Report(display_formats=host.report_formats(OutputStyle(embedded=True)))
    if not result.success:   # the cell's own error is shown by IPython, as for any cell
        report.errors.append(TargetError("%%archlint", "the cell raised, so nothing was linted", ErrorKind.LOAD,
                                         TargetCause.IMPORT_FAILED))
        return report
    found = models_defined(before, shell.user_ns)
    if not found:
        report.errors.append(TargetError("%%archlint", "the cell defines no nn.Module instance or class",
                                         ErrorKind.LOAD, TargetCause.NO_MODEL))
    example = shell.user_ns.get("example_inputs")
    for name, model in found:
        try:
            inputs = _given_inputs(options, shell.user_ns, None)
            if inputs is None and callable(example):
                inputs = example()
            linted = check_built_model(model, inputs, name=name, host=host, plots=True, **_settings(options))
        except (ValueError, InputInferenceError, TypeError) as exc:
            raise MagicUsageError(f"%%archlint: {exc}") from None
        report.models.extend(linted.models)
        report.errors.extend(linted.errors)
    return report


def load_ipython_extension(ipython: Any) -> None:
    """Register `%archlint` and `%%archlint` (called by `%load_ext archlint`)."""
    def line_magic(line: str) -> Report | None:
        try:
            return lint_line(line, ipython.user_ns)
        except MagicUsageError as exc:
            print(exc)
            return None

    def cell_magic(line: str, cell: str) -> Report | None:
        try:
            return lint_cell(line, cell, ipython)
        except MagicUsageError as exc:
            print(exc)
            return None

    ipython.register_magic_function(line_magic, "line", "archlint")
    ipython.register_magic_function(cell_magic, "cell", "archlint")

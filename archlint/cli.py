"""The `archlint` command: `check`, `rules`, `explain`, `mcp`.

The CLI only parses arguments and wires the parts together: config (archlint.run.config), targets
(archlint.load.targets), linting (archlint.run.session, archlint.run.runner) and report formats (plugins through
`archlint_report_formats`). Exit codes: 0 clean, 1 findings at or above `--fail-on`, 2 usage, config,
load or plugin errors. No traceback reaches the user unless `--debug` is given.
"""
from __future__ import annotations

import argparse
import atexit
import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Sequence, TextIO

from archlint import __version__
from archlint.analysis.race import LOSSES
from archlint.load.device import DEVICES
from archlint.load.targets import ModelSpec
from archlint.mechanics.errors import describe_exception
from archlint.mechanics.profile import PHASES, phase, process_age
from archlint.plugin.findings import Severity
from archlint.plugin.changes import CallEdit
from archlint.plugin.host import (
    PluginChoice,
    PluginHost,
    PluginImportError,
    build_plugin_host,
)
from archlint.plugin.results import OutputStyle, Report
from archlint.plugin.rule import Rule
from archlint.run.add_models import add_models
from archlint.run.baseline import (
    BaselineError,
    apply_baseline,
    load_baseline,
    write_baseline,
)
from archlint.run.config import (
    ConfigError,
    Overrides,
    parse_dtype,
    parse_input_shapes,
)
from archlint.mechanics.source import display_path
from archlint.run.edits import file_fixes, write_fix
from archlint.run.session import lint_targets, shard
from archlint.run.setup import config_for, open_run, plan_run, plugin_errors

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class UsageError(Exception):
    """Bad command-line usage; the message is shown as `archlint: error: <message>`."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print usage and exit; one clear line instead
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _comma_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _extend(values: list[list[str]] | None) -> list[str]:
    return [item for group in values or [] for item in group]


def _shape(value: str) -> tuple[int, ...]:
    try:
        return parse_input_shapes(value)[0]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _dtype(value: str) -> str:
    try:
        parse_dtype(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}")
    return int(value)


def _shard(value: str) -> tuple[int, int]:
    """`K/N`: the K-th of N shards (1-based), as CI matrices number them."""
    index, slash, count = value.partition("/")
    if not slash or not index.isdigit() or not count.isdigit() or not 1 <= int(index) <= int(count):
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N (e.g. 2/4), got {value!r}")
    return int(index), int(count)


def _positive_float(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value!r}")
    return number


def _common_options() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument("-p", "--plugin", action="append", default=[], metavar="MODULE",
                        help="load a plugin module (importable name); `-p no:NAME` disables an installed plugin")
    common.add_argument("--debug", action="store_true", help="show Python tracebacks of internal errors")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="archlint", description="An architecture linter for PyTorch models.")
    parser.add_argument("--version", action="version", version=f"archlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = _common_options()

    check = commands.add_parser("check", parents=[common], help="lint models in files, directories or module:attr",
                                description="Lint the models in each TARGET: a .py file, a directory, "
                                            "path/file.py:attr or package.module:attr. Linting a .py file "
                                            "executes it.")
    check.add_argument("targets", nargs="*", metavar="TARGET")
    selection = check.add_argument_group("rule selection (codes, code prefixes or rule names; comma lists)")
    selection.add_argument("--select", type=_comma_list, action="append", metavar="CODES",
                           help="run only these rules (replaces the config's select)")
    selection.add_argument("--extend-select", type=_comma_list, action="append", metavar="CODES",
                           help="run these rules too")
    selection.add_argument("--ignore", type=_comma_list, action="append", metavar="CODES", help="skip these rules")
    check.add_argument("--fail-on", choices=[str(s) for s in Severity], metavar="LEVEL",
                       help="exit 1 for findings at or above this level: info, warning (default) or error")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    inputs = check.add_argument_group("models and inputs")
    inputs.add_argument("--input-shape", type=_shape, action="append", metavar="SHAPE",
                        help="example input shape, e.g. 1,3,224,224 (repeat for several inputs)")
    inputs.add_argument("--dtype", type=_dtype, help="dtype of --input-shape inputs (default: the model's)")
    inputs.add_argument("--device", choices=(*DEVICES, "cuda"),
                        help="build models on the cpu, on meta (no weights), or auto (meta above meta-above params); "
                             "cuda: lint as auto, and run the race on the GPU")
    inputs.add_argument("--no-probe", action="store_true", help="skip measurements that run the model")
    inputs.add_argument("--config", type=Path, metavar="FILE", help="config file (default: the nearest "
                        "archlint.yaml, .archlint.yaml or pyproject.toml with [tool.archlint])")
    inputs.add_argument("-j", "--jobs", type=_positive_int, default=1, metavar="N",
                        help="lint targets in N worker processes (same report as -j 1)")
    inputs.add_argument("--timeout", type=_positive_float, metavar="SECONDS",
                        help="give up on a target after this many seconds (it is reported as an error)")
    race = check.add_argument_group("the race (train the model as it is against each verified fix)")
    race.add_argument("--race", action="store_true",
                      help="train the model and each fixed copy for a short budget over several seeds, and report "
                           "the training loss of both (config: race = true)")
    race.add_argument("--race-budget", type=_positive_float, metavar="SECONDS",
                      help="seconds shared by every race of the run (default 60)")
    race.add_argument("--data", metavar="MODULE:FUNCTION",
                      help="your batches for the race: a function returning an iterable of (inputs, targets) "
                           "(default: a synthetic task from the model's inputs and outputs)")
    race.add_argument("--loss", choices=LOSSES,
                      help="the race's loss (auto: cross-entropy for class logits with class-id targets, else mse)")
    output = check.add_argument_group("output")
    output.add_argument("--format", action=_ReportPlan, dest="report_plan", metavar="NAME",
                        help="text (default), json, sarif, github, html or a plugin format; repeat for several")
    output.add_argument("--output", "-o", action=_ReportPlan, dest="report_plan", metavar="FILE",
                        help="write the preceding --format's report to FILE (default: standard output)")
    output.add_argument("--baseline", type=Path, metavar="FILE",
                        help="hide the findings recorded in FILE (keyed by code, model, module); fail on new ones")
    output.add_argument("--update-baseline", action="store_true",
                        help="write every current finding to the --baseline FILE and exit 0")
    inputs.add_argument("--shard", type=_shard, metavar="K/N",
                        help="lint only the K-th of N deterministic slices of the target files (CI matrices)")
    inputs.add_argument("--profile", action="store_true",
                        help="print where the time went, per phase, on stderr (also: ARCHLINT_PROFILE=1)")
    inputs.add_argument("--ignore-no-model", action="store_true",
                        help="a file that defines no model is not an error (for pre-commit, which passes every "
                             "staged .py file); files that never mention torch are not imported")
    output.add_argument("--show-all", action="store_true", help="also report findings rules hide by default")
    output.add_argument("--show-skipped", action="store_true",
                        help="list, one per line on stderr, the files of a directory whose models were not linted")
    output.add_argument("--diff", action="store_true",
                        help="print the verified fixes that are edits of your source as a unified diff; change nothing")
    output.add_argument("--add-models", action="store_true",
                        help="write a models entry into the config for each model that needs constructor arguments "
                             "no code supplied, with placeholders to fill in")
    output.add_argument("--fix", action="store_true",
                        help="apply those edits to your files (each file only if it parses and its models build after), "
                             "then report what is left")
    output.add_argument("--quiet", "-q", action="store_true", help="only findings and errors (text format)")
    output.add_argument("--no-color", action="store_true", help="no colours (also: NO_COLOR=1)")
    check.set_defaults(handler=run_check)

    rules = commands.add_parser("rules", parents=[common], help="list the installed rules")
    rules.set_defaults(handler=run_rules)

    explain = commands.add_parser("explain", parents=[common], help="show a rule's documentation and options")
    explain.add_argument("rule", metavar="CODE|NAME")
    explain.set_defaults(handler=run_explain)

    mcp = commands.add_parser("mcp", parents=[common], help="serve archlint to coding agents (Model Context Protocol, stdio)")
    mcp.add_argument("--root", action="append", type=Path, default=[], metavar="DIR",
                     help="a folder whose files the server may read and execute (repeatable; default: the current one)")
    mcp.set_defaults(handler=run_mcp)
    return parser


# -- check -----------------------------------------------------------------------------------------------

def overrides_from(args: argparse.Namespace) -> Overrides:
    return Overrides(
        select=_extend(args.select) if args.select else None,
        extend_select=_extend(args.extend_select),
        ignore=_extend(args.ignore),
        fail_on=args.fail_on,
        probe=False if args.no_probe else None,
        device=args.device,
        show_all=args.show_all,
        input_shapes=tuple(args.input_shape or ()),
        dtype=args.dtype,
        race=args.race,
        race_budget=args.race_budget,
        data=args.data,
        loss=args.loss,
    )


def config_path_for(args: argparse.Namespace) -> Path | None:
    """--config, else the nearest config above the first target, else above the current directory."""
    return config_for(args.targets or (), args.config)


def run_check(args: argparse.Namespace) -> int:
    try:
        host = open_run(PluginChoice.parse(args.plugin))
    except ValueError as exc:   # a malformed ARCHLINT_MEMORY_BUDGET: the user's one-line error, before any work
        raise UsageError(str(exc)) from None
    formats = host.report_formats()
    outputs = output_pairs(args.report_plan or [])
    for name, _ in outputs:
        if name not in formats:
            raise UsageError(f"unknown format {name!r} (available: {', '.join(sorted(formats))})")
    if args.update_baseline and args.baseline is None:
        raise UsageError("--update-baseline needs --baseline FILE (where to write it)")
    plan = plan_run(host, config_path_for(args), overrides_from(args), args.targets or ())
    settings, specs = plan.settings, plan.specs
    if args.ignore_no_model:
        specs = model_files_only(specs)
    if args.shard:
        specs = shard(specs, *args.shard)
    if any(getattr(formats[name], "needs_plots", False) for name, _ in outputs):
        settings = dataclasses.replace(settings, run=dataclasses.replace(settings.run, plots=True))
    linted = lint_targets(specs, settings, host, jobs=args.jobs, timeout=args.timeout)
    report = Report(models=linted.models, errors=[*plan.errors, *linted.errors], skipped=linted.skipped)
    if args.update_baseline:
        count = write_baseline(report, str(args.baseline))
        print(f"archlint: wrote {count} finding(s) to baseline {args.baseline}", file=sys.stderr)
        return EXIT_ERROR if report.errors else EXIT_CLEAN
    if args.baseline is not None:
        try:
            apply_baseline(report, load_baseline(str(args.baseline)), str(args.baseline))
        except BaselineError as exc:
            raise UsageError(str(exc)) from None
    if args.add_models:
        return write_model_entries(report, config_path_for(args))
    if args.diff:
        return print_diff(report)
    if args.fix:
        report = apply_fixes(report)
    host.manager.hook.archlint_report_ready(report=report)
    with phase("report"):
        write_outputs(report, outputs, host, quiet=args.quiet, color=not args.no_color)
    if PHASES.enabled:
        where = "" if args.jobs == 1 else f" (this process only: the {args.jobs} workers' phases are not in it)"
        sys.stderr.write(f"archlint profile{where}:\n" + PHASES.table(getattr(args, "started_at", None)))
    if args.show_skipped:
        sys.stderr.write("".join(f"skipped: {s}\n" for s in report.skipped))
    code = report.exit_code(settings.fail_on)
    return EXIT_CLEAN if args.exit_zero and code == EXIT_FINDINGS else code


def write_model_entries(report: Report, config: Path | None) -> int:
    """`--add-models`: the entries written (or, when the config cannot take them, printed); exit 0 like ruff's
    --add-noqa, 2 when some could not be written."""
    result = add_models(report, config, Path.cwd())
    shown = display_path(str(result.config))
    if result.problem:
        print(f"archlint: not written to {shown}: {result.problem}:\n{result.text}", file=sys.stderr)
        return EXIT_ERROR
    if result.added:
        print(f"archlint: added {len(result.added)} models entr{'y' if len(result.added) == 1 else 'ies'} to {shown} "
              f"({', '.join(result.added)}): replace each <fill in> with the argument's value", file=sys.stderr)
    else:
        print("archlint: no model needs a models entry" + (f" ({len(result.present)} already in {shown})"
                                                           if result.present else ""), file=sys.stderr)
    return EXIT_CLEAN


def _edits(report: Report) -> list[CallEdit]:
    return [f.fix.call_edit for f in report.findings if f.fix is not None and f.fix.call_edit is not None]


def print_diff(report: Report) -> int:
    """`--diff`: the edits of every verified fix, per file; exit 1 when there is one (ruff's semantics)."""
    fixes = file_fixes(_edits(report))
    sys.stdout.write("".join(fix.diff() for fix in fixes))
    without = sum(1 for f in report.findings if f.fix is None or f.fix.call_edit is None)
    print(f"archlint: {sum(len(f.made) for f in fixes)} fix(es) in {len(fixes)} file(s); {without} finding(s) have no "
          f"automatic edit", file=sys.stderr)
    return EXIT_FINDINGS if fixes else (EXIT_ERROR if report.errors else EXIT_CLEAN)


def apply_fixes(report: Report) -> Report:
    """`--fix`: write the edits file by file; the report keeps the findings that were not fixed."""
    applied: set[CallEdit] = set()
    for fix in file_fixes(_edits(report)):
        codes = [f.code for f in report.findings if f.fix is not None and f.fix.call_edit in fix.made]
        problem = write_fix(fix, codes)
        if problem is None:
            applied.update(fix.made)
            print(f"archlint: fixed {len(fix.made)} finding(s) in {display_path(fix.file)}", file=sys.stderr)
        else:
            print(f"archlint: not fixed in {display_path(fix.file)}: {problem}", file=sys.stderr)
    for model in report.models:
        model.findings = [f for f in model.findings if f.fix is None or f.fix.call_edit not in applied]
    return report


class _ReportPlan(argparse.Action):
    """Keeps --format and --output in command-line order, so each --output belongs to the --format before it."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        kind = "format" if option_string == "--format" else "output"
        namespace.report_plan = [*(getattr(namespace, "report_plan", None) or []), (kind, values)]


def output_pairs(plan: Sequence[tuple[str, str]]) -> list[tuple[str, Path | None]]:
    """[(format, destination)]: an --output goes with the --format before it (an --output given before any
    --format goes with the first one); a format without one goes to standard output (one at most)."""
    pairs: list[list[Any]] = []
    early: list[Path] = []
    for kind, value in plan:
        if kind == "format":
            pairs.append([value, early.pop(0) if early and not pairs else None])
        elif not pairs:
            early.append(Path(value))
        elif pairs[-1][1] is None:
            pairs[-1][1] = Path(value)
        else:
            raise UsageError(f"--output {value}: --format {pairs[-1][0]} already writes to {pairs[-1][1]}; "
                             "give a --format before each --output")
    if not pairs:
        pairs.append(["text", early.pop(0) if early else None])
    if early:
        raise UsageError("give a --format before each --output")
    if sum(destination is None for _, destination in pairs) > 1:
        raise UsageError("only one --format can go to standard output; give an --output for the others")
    return [(name, destination) for name, destination in pairs]


def model_files_only(specs: Sequence[ModelSpec]) -> list[ModelSpec]:
    """For --ignore-no-model: whole files that cannot define a torch model are dropped unimported, and a
    file without a model is not an error (as in a directory scan)."""
    kept = []
    for spec in specs:
        if spec.attr is not None or spec.is_module:
            kept.append(spec)
            continue
        try:
            source = Path(spec.target).read_text(encoding="utf-8", errors="replace")
        except OSError:
            source = "torch"   # let the loader report the unreadable file
        if "torch" in source:
            kept.append(dataclasses.replace(spec, from_directory=True))
    return kept


def write_outputs(report: Report, outputs: Sequence[tuple[str, Path | None]], host: PluginHost,
                  quiet: bool = False, color: bool = True) -> None:
    """Render the report once per (format, destination); None is stdout, in colour when it is a terminal."""
    for name, destination in outputs:
        style = OutputStyle(quiet=quiet, color=color and destination is None and wants_color(sys.stdout))
        text = host.report_formats(style)[name](report)
        if destination is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            try:
                destination.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UsageError(f"cannot write {destination}: {exc.strerror or exc}") from None


def wants_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# -- rules and explain ---------------------------------------------------------------------------------------

@dataclass
class _Table:
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]

    def render(self) -> str:
        widths = [max(len(r[i]) for r in [self.headers, *self.rows]) for i in range(len(self.headers))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in [self.headers, *self.rows]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines) + "\n"


def _report_plugin_errors(host: PluginHost) -> int:
    for error in plugin_errors(host):
        print(f"error: {error}", file=sys.stderr)
    return EXIT_ERROR if host.load_errors else EXIT_CLEAN


def run_rules(args: argparse.Namespace) -> int:
    host = build_plugin_host(PluginChoice.parse(args.plugin))
    rules = host.rules
    rows = []
    for rule in rules:
        rows.append((rule.code, rule.name, str(rule.severity), host.plugin_label(rule), rule.summary))
        rows.extend((f"  {code}", "", "", "", title) for code, title in rule.codes.items() if code != rule.code)
    if rows:
        sys.stdout.write(_Table(("code", "name", "severity", "plugin", "summary"), rows).render())
    else:
        print("no rules installed")
    return _report_plugin_errors(host)


def find_rule(key: str, rules: Sequence[Rule]) -> Rule | None:
    key = key.strip()
    return next((r for r in rules if key in (r.name, r.code) or key.upper() in r.all_codes()), None)


def explain_text(rule: Rule, host: PluginHost) -> str:
    out = [f"{rule.code} {rule.name} ({rule.severity}) · plugin {host.plugin_label(rule)}", "",
           rule.docs().strip(), ""]
    if not rule.options:
        out.extend(["Options: none", ""])
    out.append("Codes:")
    out.extend(f"  {code}  {title}" for code, title in rule.all_codes().items())
    return "\n".join(out) + "\n"


def run_mcp(args: argparse.Namespace) -> int:
    roots = args.root or [Path.cwd()]
    missing = [str(root) for root in roots if not root.is_dir()]
    if missing:
        raise UsageError(f"--root {missing[0]}: not a folder")
    try:
        from archlint.integrations.mcp_server import serve
    except ImportError as exc:
        raise UsageError(f"archlint mcp needs the `mcp` package ({exc.name} is not installed): "
                         "pip install 'archlint[mcp]'") from None
    serve(roots)
    return EXIT_CLEAN


def run_explain(args: argparse.Namespace) -> int:
    host = build_plugin_host(PluginChoice.parse(args.plugin))
    rules = host.rules
    rule = find_rule(args.rule, rules)
    if rule is None:
        known = ", ".join(f"{r.code} {r.name}" for r in rules) or "none installed"
        raise UsageError(f"no rule {args.rule!r} (installed rules: {known})")
    sys.stdout.write(explain_text(rule, host))
    return EXIT_CLEAN


# -- entry point -------------------------------------------------------------------------------------------------

def _error(message: str) -> None:
    print(f"archlint: error: {message}", file=sys.stderr)


COMMANDS = ("check", "rules", "explain", "mcp")


def _implicit_check(argv: list[str]) -> list[str]:
    """`archlint TARGET...` means `archlint check TARGET...`."""
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version"):
        return ["check", *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run the archlint command; returns the exit code (also for `python -m archlint`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    # archlint never downloads: Hugging Face libraries asked for a model's files fail at once instead of retrying
    # a refused connection for a minute (files in the local cache still load)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        parser = build_parser()
        args = parser.parse_args(_implicit_check(argv))
        if getattr(args, "profile", False):
            PHASES.enabled = True
            os.environ["ARCHLINT_PROFILE"] = "1"     # worker processes profile too
            args.started_at = process_age()
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_ERROR
        return args.handler(args)
    except SystemExit as exc:   # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_CLEAN if exc.code is None else EXIT_ERROR
    except (UsageError, ConfigError, PluginImportError) as exc:
        if debug:
            raise
        _error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _error("interrupted")
        return 130
    except Exception as exc:
        if debug:
            raise
        _error(f"internal error: {describe_exception(exc)} (run with --debug for the traceback; "
               "please report it)")
        return EXIT_ERROR


def console() -> NoReturn:
    """The `archlint` command and `python -m archlint`: `main()`, then a quick exit.

    A finished lint has nothing left for the interpreter's own teardown to do, and that teardown (freeing
    torch's modules and objects one by one, and torch._dynamo's once a model library imported it) took
    0.5-1.5 s of every run on a 2-core machine, longer than linting a small model. So the exit handlers
    registered with `atexit` run (coverage, multiprocessing, temporary files), the standard streams are
    flushed, and the process ends with main's exit code. `main()` itself returns normally, for callers in
    a Python process.
    """
    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):   # a closed pipe (archlint ... | head) or a closed stream
            pass
    os._exit(code)


__all__ = ["main", "console", "build_parser", "run_check", "lint_targets", "write_outputs", "UsageError"]

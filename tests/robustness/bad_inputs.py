"""The catalogue of bad inputs, how each is run, and what the user sees.

Every case runs the way a user would meet it (the `archlint` command, or `archlint.check(...)`
from Python), with stdout/stderr captured at the file-descriptor level, so a traceback printed by
a logging handler is seen too. `tests/robustness/test_bad_inputs.py` checks each outcome against
the case's expectation, and `make_table.py` renders the same outcomes as docs/bad-inputs.md.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import io
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

HERE = Path(__file__).resolve().parent
CASES = HERE / "cases"
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s+File \".*\", line \d+", re.MULTILINE)


# -- capturing what the user sees ---------------------------------------------------------------

@contextlib.contextmanager
def captured_output() -> Iterator[dict[str, str]]:
    """Capture fds 1 and 2 (and sys.stdout/err) into strings, available after the block."""
    result: dict[str, str] = {}
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    files = {fd: tempfile.TemporaryFile(mode="w+b") for fd in (1, 2)}
    py_out, py_err = sys.stdout, sys.stderr
    text_out, text_err = io.StringIO(), io.StringIO()
    try:
        for fd, f in files.items():
            os.dup2(f.fileno(), fd)
        sys.stdout, sys.stderr = text_out, text_err
        yield result
    finally:
        sys.stdout, sys.stderr = py_out, py_err
        for fd in (1, 2):
            os.dup2(saved[fd], fd)
            os.close(saved[fd])
        for fd, f in files.items():
            f.seek(0)
            result["stdout" if fd == 1 else "stderr"] = (text_out if fd == 1 else text_err).getvalue() + \
                f.read().decode(errors="replace")
            f.close()


@dataclass
class Outcome:
    """What happened when a case ran."""

    how: str                                  # the command or call, as the user would type it
    exit_code: int | None = None              # None: the call raised
    shown: list[str] = field(default_factory=list)   # the lines that tell the user what went wrong / was skipped
    stdout: str = ""
    stderr: str = ""
    raised: str | None = None                 # "TypeError: ..." when the Python call raised
    report: Any = None

    @property
    def text(self) -> str:
        return "\n".join([*self.shown, self.stdout, self.stderr, self.raised or ""])

    @property
    def has_traceback(self) -> bool:
        return bool(TRACEBACK.search(self.stdout + "\n" + self.stderr + "\n" + "\n".join(self.shown)))


# -- running through the Python API --------------------------------------------------------------

def load_case(relative: str) -> Any:
    """Import a case file (cases/<relative>) as a fresh module."""
    path = CASES / relative
    name = "robustness_case_" + re.sub(r"\W", "_", relative.removesuffix(".py"))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def report_lines(report: Any) -> list[str]:
    """What a report tells the user about problems and skipped work: errors, notes, what was linted."""
    lines = [f"error: {e}" for e in report.errors]
    for model in report.models:
        lines.append(f"linted {model.name}: tracer {model.tracer}, {model.parameters:,} parameters, "
                     f"inputs {model.input_shapes}")
        lines.extend(f"note: {n.text}" for n in model.notes)
        lines.extend(f"finding: {f.code} {f.message}" for f in model.findings if f.code == "AL000")
    return lines


def api_outcome(how: str, call: Callable[[], Any]) -> Outcome:
    """Run `call` (which returns a Report) the way a Python user would, capturing everything."""
    outcome = Outcome(how)
    with captured_output() as out:
        try:
            report = call()
        except Exception as exc:  # noqa: BLE001 - recording what the user would get
            outcome.raised = f"{type(exc).__name__}: {exc}"
            report = None
    outcome.stdout, outcome.stderr = out["stdout"], out["stderr"]
    if report is not None:
        outcome.report = report
        outcome.exit_code = report.exit_code()
        outcome.shown = report_lines(report)
    else:
        outcome.shown = [f"raises {outcome.raised}"]
    return outcome


# -- running the archlint command in-process ---------------------------------------------------------

def cli_outcome(args: list[str], cwd: Path = CASES) -> Outcome:
    """Run `archlint <args>` in this process (cwd = cases/ so paths print relative)."""
    from archlint import cli

    outcome = Outcome("archlint " + " ".join(args))
    previous = os.getcwd()
    with captured_output() as out:
        os.chdir(cwd)
        try:
            code = cli.main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except Exception as exc:  # noqa: BLE001 - a crash is exactly what the tests look for
            outcome.raised = f"{type(exc).__name__}: {exc}"
            code = None
        finally:
            os.chdir(previous)
    outcome.exit_code = code
    outcome.stdout, outcome.stderr = out["stdout"], out["stderr"]
    outcome.shown = [line.strip() for line in (outcome.stderr + outcome.stdout).splitlines()
                     if line.lstrip().startswith(("error", "note", "warning", "archlint:", "== ")) or "AL000" in line]
    return outcome


# -- the catalogue ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One bad input: how to run it and what the user must see."""

    id: str
    group: str                     # target | model | config | plugin
    title: str                     # the bad input, in words
    run: Callable[[], Outcome]
    exit_codes: frozenset[int]     # acceptable exit codes (2: error; 0/1: linted, maybe degraded)
    mentions: tuple[str, ...] = ()  # words the user-visible lines must contain (the file/model and the cause)
    needs: str = ""                # "cli": skipped until the archlint command exists
    raises: str = ""               # API misuse: the exception type the Python call raises (no report)
    says: str = ""                 # the exact line the user sees (repository paths shown relative to it)


def _x(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0))


def _check(relative: str, cls: str, inputs: Callable[[], Any] | None = None, instance: bool = True,
           inputs_text: str = "") -> Callable[[], Outcome]:
    def run() -> Outcome:
        import archlint

        module = load_case(relative)
        target = getattr(module, cls)
        shown_inputs = f", {inputs_text}" if inputs_text else ""
        how = f"archlint.check({cls}{'()' if instance else ''}{shown_inputs})  # cases/{relative}"

        def call() -> Any:
            model = target() if instance else target
            return archlint.check(model, inputs() if inputs else None)

        return api_outcome(how, call)

    return run


def _cli(*args: str) -> Callable[[], Outcome]:
    return lambda: cli_outcome(["check", *args])


ERROR = frozenset({2})
LINTED = frozenset({0, 1})

CASES_LIST: list[Case] = [
    # -- target files (the archlint command) --
    Case("missing-file", "target", "target file does not exist", _cli("targets/no_such_file.py"),
         ERROR, ("no_such_file.py",), needs="cli"),
    Case("syntax-error", "target", "syntax error in the file", _cli("targets/syntax_error.py"),
         ERROR, ("syntax_error.py", "SyntaxError"), needs="cli"),
    Case("import-error", "target", "the model is built from a package that is not installed",
         _cli("targets/import_error.py"), ERROR, ("import_error.py", "definitely_not_installed_pkg"), needs="cli"),
    Case("unused-import", "target", "the file imports a package that is not installed, which its model never uses",
         _cli("targets/unused_import.py"), LINTED, ("Net", "definitely_not_installed_pkg", "never used"),
         needs="cli"),
    Case("raises-at-import", "target", "module-level code raises", _cli("targets/raises_at_import.py"),
         ERROR, ("raises_at_import.py", "KeyError"), needs="cli"),
    Case("no-model", "target", "the file defines no model", _cli("targets/no_model.py"),
         ERROR, ("no_model.py",), needs="cli"),
    Case("mixed-directory", "target", "a directory mixing good and broken files", _cli("targets/mixed"),
         ERROR, ("broken_syntax.py", "broken_import.py", "GoodNet", "AlsoGood"), needs="cli"),

    # -- configuration (the archlint command; the config file sits beside the target) --
    Case("malformed-toml", "config", "malformed TOML in pyproject.toml", _cli("config/malformed_toml/net.py"),
         ERROR, ("pyproject.toml", "TOML"), needs="cli"),
    Case("malformed-yaml", "config", "malformed YAML in archlint.yaml", _cli("config/malformed_yaml/net.py"),
         ERROR, ("archlint.yaml", "YAML", "line"), needs="cli"),
    Case("unknown-key", "config", "unknown key (a typo)", _cli("config/unknown_key/net.py"),
         ERROR, ("pyproject.toml", "selct"), needs="cli"),
    Case("unknown-rule-code", "config", "unknown rule code in select", _cli("config/unknown_rule_code/net.py"),
         ERROR, ("pyproject.toml", "AL999"), needs="cli"),
    Case("wrong-type", "config", "a value of the wrong type", _cli("config/wrong_type/net.py"),
         ERROR, ("pyproject.toml", "probe", "yes"), needs="cli"),
    Case("select-not-a-list", "config", "select given as a string, not a list",
         _cli("config/select_not_a_list/net.py"), ERROR, ("archlint.yaml", "select"), needs="cli"),
    Case("option-wrong-type", "config", "a rule option of the wrong type", _cli("config/option_wrong_type/net.py"),
         ERROR, ("pyproject.toml", "min", "most of it"), needs="cli"),
    Case("unknown-option", "config", "an unknown rule option", _cli("config/unknown_option/net.py"),
         ERROR, ("pyproject.toml", "min-covrage"), needs="cli"),
    Case("conflicting-select-ignore", "config", "the same code both selected and ignored",
         _cli("config/conflicting_select_ignore/net.py"), ERROR, ("pyproject.toml", "AL201"), needs="cli"),
    Case("unknown-cli-selector", "config", "unknown rule code on the command line",
         _cli("--select", "AL999", "targets/mixed/good_net.py"), ERROR, ("AL999",), needs="cli"),

    # -- models (Python API) --
    Case("ctor-needs-args", "model", "constructor needs arguments",
         _check("models/ctor_needs_args.py", "NeedsWidth", instance=False), ERROR, ("NeedsWidth", "width")),
    Case("ctor-raises", "model", "constructor raises",
         _check("models/ctor_raises.py", "BrokenInit", instance=False), ERROR,
         ("BrokenInit", "ValueError", "divisible")),
    Case("forward-raises", "model", "forward raises",
         _check("models/forward_raises.py", "BrokenForward", lambda: _x(2, 4), inputs_text="torch.randn(2, 4)"),
         ERROR, ("BrokenForward", "NotImplementedError", "forward is not written yet")),
    Case("returns-dict", "model", "forward returns a dict",
         _check("models/returns_dict.py", "DictOut", lambda: _x(2, 4), inputs_text="torch.randn(2, 4)"), LINTED,
         ("DictOut",)),
    Case("returns-tuple", "model", "forward returns a tuple",
         _check("models/returns_tuple.py", "TupleOut", lambda: _x(2, 4), inputs_text="torch.randn(2, 4)"), LINTED,
         ("TupleOut",)),
    Case("returns-dataclass", "model", "forward returns a dataclass",
         _check("models/returns_dataclass.py", "DataclassOut", lambda: _x(2, 4), inputs_text="torch.randn(2, 4)"),
         LINTED, ("DataclassOut",)),
    Case("returns-none", "model", "forward returns None",
         _check("models/returns_none.py", "NoneOut", lambda: _x(2, 4), inputs_text="torch.randn(2, 4)"), LINTED,
         ("NoneOut",)),
    Case("zero-params", "model", "model without parameters",
         _check("models/zero_params.py", "NoParams", lambda: _x(2, 4), inputs_text="torch.randn(2, 4)"), LINTED,
         ("NoParams", " 0 parameters")),
    Case("zero-params-no-inputs", "model", "model without parameters, no inputs given",
         _check("models/zero_params.py", "NoParams"), LINTED, ("NoParams", "a batch of 16 features")),
    Case("cuda-in-ctor", "model", "constructor calls .cuda() (no GPU here)",
         _check("models/cuda_in_ctor.py", "CudaNet", instance=False), ERROR, ("CudaNet", "CUDA")),
    Case("cuda-param", "model", "parameter created with device=\"cuda\" (no GPU here)",
         _check("models/cuda_param.py", "CudaScale", instance=False), ERROR, ("CudaScale", "CUDA")),
    Case("half", "model", "float16 weights, inputs inferred",
         _check("models/half_weights.py", "HalfNet"), LINTED, ("HalfNet", "float16")),
    Case("bfloat16", "model", "bfloat16 weights, inputs inferred",
         _check("models/bfloat16_weights.py", "BFloat16Net"), LINTED, ("BFloat16Net", "bfloat16")),
    Case("tied-weights", "model", "tied embedding/output weights",
         _check("models/tied_weights.py", "TiedLM"), LINTED, ("TiedLM", "integer tokens")),
    Case("reused-module", "model", "one module called twice in forward",
         _check("models/reused_module.py", "Reused", lambda: _x(2, 8), inputs_text="torch.randn(2, 8)"), LINTED,
         ("Reused",)),
    Case("shared-submodule", "model", "one submodule registered under two names",
         _check("models/shared_submodule.py", "SharedTwice", lambda: _x(2, 8), inputs_text="torch.randn(2, 8)"),
         LINTED, ("SharedTwice",)),
    Case("token-inputs", "model", "integer token inputs (inferred from the embedding)",
         _check("models/token_inputs.py", "TokenClassifier"), LINTED, ("TokenClassifier", "integer tokens")),
    Case("two-inputs", "model", "two inputs, both given",
         _check("models/two_inputs.py", "TwoInputs", lambda: (_x(2, 4), _x(2, 6)),
                inputs_text="(torch.randn(2, 4), torch.randn(2, 6))"), LINTED, ("TwoInputs", "[[2, 4], [2, 6]]")),
    Case("two-inputs-inferred", "model", "two inputs, none given: each sized for the layer it reaches",
         _check("models/two_inputs.py", "TwoInputs"), LINTED, ("TwoInputs", "image [2, 4], text [2, 6]")),
    Case("wrong-channels", "model", "input channels do not fit the first conv",
         _check("models/wrong_channels.py", "RGBNet", lambda: _x(1, 1, 16, 16), inputs_text="torch.randn(1, 1, 16, 16)"),
         ERROR, ("RGBNet", "stem", "expected 3 input channels", "got 1")),
    Case("wrong-features", "model", "input resolution does not fit a flatten→Linear head",
         _check("models/wrong_features.py", "FixedSizeHead", lambda: _x(1, 3, 64, 64),
                inputs_text="torch.randn(1, 3, 64, 64)"),
         ERROR, ("FixedSizeHead", "fc (Linear)", "4096", "16384")),
    Case("nan-weights", "model", "weights containing NaN and inf",
         _check("models/nan_weights.py", "Diverged", lambda: _x(2, 3, 8, 8), inputs_text="torch.randn(2, 3, 8, 8)"),
         LINTED, ("Diverged",)),
    Case("forward-writes-buffer", "model", "forward updates a buffer in place (a call counter)",
         _check("models/writes_buffers.py", "CountsCalls", lambda: _x(3, 4), inputs_text="torch.randn(3, 4)"),
         LINTED, ("CountsCalls", "calls", "restored")),
    Case("untraceable-branch", "model", "control flow on a tensor value in the top-level forward",
         _check("models/writes_buffers.py", "BranchyCounter", lambda: _x(3, 4), inputs_text="torch.randn(3, 4)"),
         LINTED, ("BranchyCounter", "tracer real-forward", "writes_buffers.py:27", "the other branch was not seen",
                  "calls", "restored")),
    Case("not-a-module", "model", "something that is not an nn.Module",
         lambda: api_outcome("archlint.check(42, torch.randn(2, 4))", lambda: __import__("archlint").check(42, _x(2, 4))),
         frozenset(), ("nn.Module", "int"), raises="TypeError"),
    Case("inputs-not-tensors", "model", "example inputs that are not tensors",
         _check("models/reused_module.py", "Reused", lambda: "hello", inputs_text='"hello"'), frozenset(),
         ("tensor", "str"), raises="TypeError"),
]


def _mlp() -> Any:
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def _with_plugin(make: str, *args: Any, name: str = "") -> Callable[[], Outcome]:
    """Lint a small MLP with the well-behaved Counter rule plus one misbehaving plugin from plugin_cases."""
    def run() -> Outcome:
        import archlint
        import plugin_cases

        factory = getattr(plugin_cases, make)
        broken = factory(*[getattr(plugin_cases, a)() for a in args], name=name) if name else factory()
        plugins = (plugin_cases.plugin(plugin_cases.Counter(), name="well-behaved"), broken)
        label = f"{make}({', '.join(args)}{', name=' + repr(name) if name else ''})"
        return api_outcome(f"archlint.check(mlp, x, plugins=(counter, {label}))  # tests/robustness/plugin_cases.py",
                           lambda: archlint.check(_mlp(), _x(2, 4), plugins=plugins))
    return run


def _broken_entry_point() -> Outcome:
    import archlint
    import plugin_cases

    with tempfile.TemporaryDirectory() as site:
        plugin_cases.write_broken_distribution(Path(site))
        sys.path.insert(0, site)
        try:
            return api_outcome("archlint.check(mlp, x)  # with an installed entry point "
                               "broken-plugin = archlint_missing_plugin_module",
                               lambda: archlint.check(_mlp(), _x(2, 4)))
        finally:
            sys.path.remove(site)


CASES_LIST += [
    Case("plugin-rule-raises", "plugin", "a rule that raises", _with_plugin("plugin", "Raises", name="acme-raise"),
         LINTED, ("AL000", "XT200", "acme-raise", "IndexError", "plugin_cases.py")),
    Case("plugin-returns-number", "plugin", "a rule whose check() returns an int",
         _with_plugin("plugin", "ReturnsNumber", name="acme-number"), LINTED, ("AL000", "acme-number", "int")),
    Case("plugin-yields-strings", "plugin", "a rule that yields strings, not findings",
         _with_plugin("plugin", "YieldsStrings", name="acme-strings"), LINTED, ("AL000", "acme-strings", "str")),
    Case("plugin-rules-garbage", "plugin", "archlint_rules returns things that are not rules",
         _with_plugin("garbage_rules"), ERROR, ("garbage-plugin", "42", "not a Rule")),
    Case("plugin-no-code", "plugin", "a rule without a code", _with_plugin("no_code_rule"), ERROR,
         ("no-code-plugin", "no code")),
    Case("plugin-hook-raises", "plugin", "the plugin's archlint_rules hook raises", _with_plugin("hook_raises"),
         ERROR, ("rules-hook-raises", "RuntimeError")),
    Case("plugin-misspelled-hook", "plugin", "a plugin implementing a misspelled hook",
         _with_plugin("misspelled_hook"), ERROR, ("misspelled-hook", "archlint_rule")),
    Case("plugin-broken-entry-point", "plugin", "an installed entry point naming a missing module",
         _broken_entry_point, ERROR, ("broken-plugin", "archlint_missing_plugin_module")),
]


def _cli_with_site(site: Path, *args: str) -> Callable[[], Outcome]:
    """The archlint command with an extra site directory (an installed plugin) on sys.path."""
    def run() -> Outcome:
        sys.path.insert(0, str(site))
        try:
            return cli_outcome(["check", *args])
        finally:
            sys.path.remove(str(site))
    return run


CASES_LIST += [
    Case("not-utf8", "target", "a file that is not UTF-8 and declares no encoding (Python refuses to run it)",
         _cli("targets/not_utf8.py"), ERROR, ("not_utf8.py", "not valid utf-8", "byte 0xe8 on line 1", "coding"),
         needs="cli"),
    Case("keyword-only-forward", "model", "forward(self, **batch): only keyword arguments",
         _cli("models/keyword_only_forward.py"), ERROR,
         ("keyword_only_forward.py", "forward takes only keyword arguments (**batch)", "wrapper"), needs="cli"),
    Case("scripted-blocks", "model", "blocks made with torch.jit.script inside an nn.Module",
         _cli("--no-probe", "models/scripted_blocks.py"), LINTED, ("StochasticDepthResNet",), needs="cli"),
    Case("cli-ctor-needs-args", "model", "constructor needs arguments (the command)",
         _cli("models/ctor_needs_args.py"), ERROR, ("ctor_needs_args.py", "NeedsWidth", "width"), needs="cli"),
    Case("cli-cuda-in-ctor", "model", "constructor calls .cuda() (the command: kept on the CPU, said)",
         _cli("models/cuda_in_ctor.py"), LINTED, ("cuda_in_ctor.py", "CudaNet", "moved to CUDA at", "kept on the CPU"),
         needs="cli"),
    Case("cli-forward-raises", "model", "forward raises (the command)", _cli("models/forward_raises.py"),
         ERROR, ("forward_raises.py", "BrokenForward", "forward is not written yet"), needs="cli"),
    Case("cli-wrong-channels", "model", "--input-shape that does not fit the first conv",
         _cli("--input-shape", "1,1,16,16", "models/wrong_channels.py"), ERROR,
         ("wrong_channels.py", "stem", "expected 3 input channels"), needs="cli"),
    Case("slow-forward", "model", "forward never returns (infinite loop), with --timeout",
         _cli("--timeout", "3", "models/slow_forward.py"), ERROR, ("slow_forward.py", "timed out", "--timeout"),
         needs="timeout"),
    Case("plugin-slow-rule", "plugin", "a rule that never finishes, with --timeout",
         _cli_with_site(CASES / "plugins" / "site", "--timeout", "3", "targets/mixed/good_net.py"), ERROR,
         ("good_net.py", "timed out", "--timeout"), needs="timeout"),
]


# -- half-written code as real repositories have it (the archlint command, default settings) --
# Each case reproduces a pattern met in training scripts, notebooks and research code; `says` is the
# exact line the user reads.

def _real_case(id: str, title: str, relative: str, exit_codes: frozenset[int], says: str,
               mentions: tuple[str, ...] = ()) -> Case:
    return Case(id, "real", title, _cli(f"real/{relative}"), exit_codes, (relative, *mentions), needs="cli", says=says)


_R = "real/"
CASES_LIST += [
    _real_case("downloads-weights", "the constructor downloads pretrained weights with torch.hub (no network)",
               "downloads_weights_in_ctor.py", LINTED,
               "note: built without its pretrained weights: the download of https://weights.invalid/pretrained_net.pth "
               "was skipped (the architecture, with the initialisation its code gives)"),
    _real_case("downloads-by-hand", "the constructor fetches its weights with its own request (no network)",
               "downloads_by_hand_in_ctor.py", ERROR,
               f"error: {_R}downloads_by_hand_in_ctor.py:FetchedNet: constructor raised NetworkRefused: a download: "
               f"archlint uses no network while it builds a model at {_R}downloads_by_hand_in_ctor.py:13: it "
               "downloads https://weights.invalid/fetched_net.pth; build it without pretrained weights (weights=None, "
               "pretrained=False) to lint the architecture"),
    _real_case("loads-checkpoint", "the constructor loads a checkpoint that exists only on the author's machine",
               "loads_checkpoint_in_ctor.py", ERROR,
               f"error: {_R}loads_checkpoint_in_ctor.py:Restored: constructor raised FileNotFoundError: [Errno 2] No "
               f"such file or directory: 'checkpoints/best.pth' at {_R}loads_checkpoint_in_ctor.py:10: it reads "
               "'checkpoints/best.pth', which does not exist here (relative paths are read from "
               "tests/robustness/cases)"),
    _real_case("reads-vocab-at-import", "module-level code reads a data file the model's size depends on",
               "reads_vocab_at_import.py", ERROR,
               f"error: {_R}reads_vocab_at_import.py:Tagger: importing the file raised FileNotFoundError: [Errno 2] "
               f"No such file or directory: 'data/vocab.txt' at {_R}reads_vocab_at_import.py:4: it reads "
               "'data/vocab.txt', which does not exist here (relative paths are read from tests/robustness/cases)"),
    _real_case("reads-csv-at-import", "module-level code loads a dataset the model does not need",
               "reads_csv_at_import.py", LINTED,
               "note: the file's module-level code failed (importing the file raised FileNotFoundError: [Errno 2] No "
               f"such file or directory: 'data/train.csv' at {_R}reads_csv_at_import.py:6: it reads 'data/train.csv', "
               "which does not exist here (relative paths are read from tests/robustness/cases)); linted from what "
               "ran past it (each top-level statement on its own, as a notebook's cells are run again after an error; "
               "a statement that failed or needed what failed left out, training never run)"),
    _real_case("cuda-at-import", "module-level code moves the model to CUDA (no GPU here: kept on the CPU, said)",
               "cuda_at_import.py", LINTED, "", ("moved to CUDA at", "kept on the CPU (no GPU here)")),
    _real_case("distributed-at-import", "module-level code joins a torch.distributed process group",
               "distributed_at_import.py", LINTED, "", ("linted from what ran past it",
                                                        "starts a distributed process group")),
    _real_case("kwargs-ctor", "the constructor reads its settings from **kwargs", "kwargs_ctor.py", ERROR,
               f"error: {_R}kwargs_ctor.py:KwargsNet: constructor raised KeyError: 'in_dim' at {_R}kwargs_ctor.py:8: "
               "it reads 'in_dim' from **kwargs and none was given; give it as kwargs in a models entry of the "
               "config, or pass an instance"),
    _real_case("forgot-super-init", "layers assigned before super().__init__()", "forgot_super_init.py", ERROR,
               f"error: {_R}forgot_super_init.py:EarlyAssign: constructor raised AttributeError: cannot assign module "
               f"before Module.__init__() call at {_R}forgot_super_init.py:7: it assigns a layer before calling "
               "super().__init__(); call super().__init__() first"),
    _real_case("bare-assert", "a bare assert on the constructor's arguments fails", "bare_assert_in_ctor.py", ERROR,
               f"error: {_R}bare_assert_in_ctor.py:Divisible: constructor raised AssertionError at "
               f"{_R}bare_assert_in_ctor.py:8: `assert dim % heads == 0` failed"),
    _real_case("input-in-ctor", "the constructor asks on the terminal (input())", "input_in_ctor.py", ERROR,
               f"error: {_R}input_in_ctor.py:Asks: constructor raised EOFError: EOF when reading a line at "
               f"{_R}input_in_ctor.py:8: it asks for input on the terminal (input()) and archlint gives it none; use a "
               "default value or a command-line flag instead"),
    _real_case("wrong-type-from-factory", "a factory passes a string where a layer needs an int",
               "wrong_type_from_factory.py", ERROR, "", ("classifier_from_config()", "TypeError",
                                                         "wrong_type_from_factory.py:8")),
    _real_case("positional-arg-at-import", "module-level argparse with a required positional argument (imported with "
               "a placeholder for it, said in a note)", "positional_arg_at_import.py", LINTED, "",
               ("Net", "tracer fx", "placeholders for what that lacks (data_dir='.')")),
    _real_case("relative-import-loose", "a relative import in a folder without __init__.py (a namespace package: "
               "the module is named from the repository's root, as its scripts import it)", "loose/stack.py", LINTED, "",
               ("Stack", "tracer fx")),
    _real_case("relative-import-package", "a package member with a relative import, linted on its own",
               "package/stack.py", LINTED, "", ("Stack", "tracer fx")),
    _real_case("no-forward", "layers defined, forward not written yet", "no_forward.py", ERROR,
               f"error: {_R}no_forward.py:Unfinished: could not trace the model: Unfinished defines no forward() "
               "method, so it cannot run"),
    _real_case("misspelled-forward", "forward spelled `foward`", "misspelled_forward.py", ERROR,
               f"error: {_R}misspelled_forward.py:Typo: could not trace the model: Typo defines no forward() method, so "
               f"it cannot run; it has `foward` at {_R}misspelled_forward.py:10: a misspelling of forward?"),
    _real_case("value-branch", "forward branches on a tensor value (early exit)", "value_branch.py", LINTED,
               "note: tracer real-forward: the graph comes from one real forward on the example input: at "
               f"{_R}value_branch.py:14 `if x.abs().mean() < 100:` this input went on to line 15 `x = self.deep(x)`; "
               "the other branch was not seen"),
    _real_case("item-in-forward", "forward reads .item() and slices with it", "item_in_forward.py", LINTED,
               "note: tracer real-forward: the graph comes from one real forward on the example input: at "
               f"{_R}item_in_forward.py:13 `keep = max(1, int((self.score(x) > 0).sum().item()))` a tensor's value is "
               "read as a Python value; what follows was seen for this input's value only"),
    _real_case("while-on-values", "a loop whose end depends on tensor values", "while_on_values.py", LINTED,
               "note: tracer real-forward: the graph comes from one real forward on the example input: at "
               f"{_R}while_on_values.py:12 `while x.norm() > 1 and steps < 4:` this input went on to line 13 "
               "`x = self.step(x) * 0.5`; the other branch was not seen"),
    _real_case("numpy-in-forward", "forward round-trips through NumPy", "numpy_in_forward.py", LINTED,
               "note: tracer real-forward: the graph comes from one real forward on the example input: at "
               f"{_R}numpy_in_forward.py:12 `scores = self.fc(x).detach().numpy()` a tensor's value is read as a "
               "Python value; what follows was seen for this input's value only"),
    _real_case("cuda-in-forward", "forward makes a tensor on CUDA (no GPU here: made on the CPU, said)",
               "cuda_in_forward.py", LINTED,
               f"note: its forward puts tensors on CUDA at {_R}cuda_in_forward.py:12: kept on the CPU (no GPU here)",
               ("NoiseOnGPU", "tracer fx")),
    _real_case("dict-batch", "forward takes the data loader's batch dict", "dict_batch_forward.py", LINTED,
               "note: input {'features': [2, 12]}: a dict of the features the forward reads, each of the kind its "
               "first layer takes"),
    _real_case("required-keyword", "forward requires a keyword-only argument", "required_keyword_forward.py", ERROR,
               f"error: {_R}required_keyword_forward.py:MaskedScorer: could not trace the model: MaskedScorer.forward "
               "requires the keyword-only argument `mask`, and archlint feeds a model positional inputs: lint a small "
               "wrapper module whose forward(x, ...) calls the model with it"),
    _real_case("lazy-layers", "lazy layers (LazyConv2d, LazyLinear)", "lazy_layers.py", LINTED,
               "note: lazy layers conv, fc took their shapes from one forward on the example input, run on a copy "
               "(the model itself is unchanged)"),
    _real_case("fails-in-training-mode", "forward works in eval mode only (training branch unfinished)",
               "fails_in_training_mode.py", LINTED,
               "note: not measured: the probe's train-mode forward pass failed (NotImplementedError: training path "
               f"not written yet at {_R}fails_in_training_mode.py:12); the rules that measure on it judged from the "
               "graph only"),
    Case("prints-in-forward", "real", "forward prints while debugging (--format json stays parseable)",
         _cli("--format", "json", "real/prints_in_forward.py"), LINTED, (), needs="cli"),
]


def _cli_with_env(variable: str, value: str, *args: str) -> Callable[[], Outcome]:
    """The archlint command with one environment variable set for the run."""
    def run() -> Outcome:
        saved = os.environ.get(variable)
        os.environ[variable] = value
        try:
            outcome = cli_outcome(["check", *args])
        finally:
            if saved is None:
                os.environ.pop(variable, None)
            else:
                os.environ[variable] = saved
        outcome.how = f"{variable}={value} {outcome.how}"
        return outcome
    return run


CASES_LIST += [
    Case("memory-budget-malformed", "config", "ARCHLINT_MEMORY_BUDGET that is not a size",
         _cli_with_env("ARCHLINT_MEMORY_BUDGET", "lots", "targets/mixed/good_net.py"), ERROR,
         ("ARCHLINT_MEMORY_BUDGET", "'lots'"), needs="cli",
         says="archlint: error: ARCHLINT_MEMORY_BUDGET must be a memory size in bytes or with a unit (8000000000, "
              "512M, 8G), got 'lots'"),
]


def selected_cases() -> list[Case]:
    return list(CASES_LIST)


_outcomes: dict[str, Outcome] = {}


def outcome_of(case: Case) -> Outcome:
    """Run a case once per process (the table and the per-case tests share the outcome)."""
    if case.id not in _outcomes:
        _outcomes[case.id] = case.run()
    return _outcomes[case.id]




__all__ = ["Case", "Outcome", "CASES", "captured_output", "load_case", "api_outcome", "cli_outcome",
           "selected_cases", "outcome_of", "report_lines", "dataclasses"]

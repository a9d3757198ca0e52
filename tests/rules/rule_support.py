"""How rule tests run a rule, so that a clean result proves the rule ran.

`lint(model, inputs, rule="large-kernel", ...)` runs the real `archlint.check` with only that rule
selected and asserts that the rule is installed, that it ran to completion on the model (not
crashed: no AL000) and that the model was linted (no error). `run_on_graph(Rule, model, graph,
inputs, **options)` runs a rule directly on an already-traced zoo graph; unknown option names fail.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import archlint
from archlint.analysis.graph import ArchGraph
from archlint.analysis.shared import ModelAnalyses
from archlint.rulekit.context import CheckContext
from archlint.plugin.findings import Finding
from archlint.plugin.results import Report
from archlint.plugin.rule import Rule


def assert_ran(report: Report, rule: str) -> None:
    """The model was linted and `rule` (name or code) ran to completion on it."""
    assert not report.errors, report.errors
    [model] = report.models
    assert rule in model.rules_run, f"{rule} did not run; rules that ran: {model.rules_run}"
    crashes = [f.message for f in model.findings if f.code == "AL000"]
    assert not crashes, crashes


def lint_report(model: Any, inputs: Any = None, *, rule: str, options: dict[str, Any] | None = None,
                **settings: Any) -> Report:
    if options:
        settings["rule_options"] = {rule: options}
    report = archlint.check(model, inputs, select=[rule], **settings)
    assert_ran(report, rule)
    return report


def lint(model: Any, inputs: Any = None, *, rule: str, options: dict[str, Any] | None = None,
         **settings: Any) -> list[Finding]:
    """The findings of `rule` on `model`, from the real `archlint.check` (settings validated)."""
    return lint_report(model, inputs, rule=rule, options=options, **settings).models[0].findings


def context_for(rule: type[Rule], model: Any, graph: ArchGraph, inputs: Sequence[Any], *, show_all: bool = False,
                probe: bool = True, name: str = "model", **options: Any) -> CheckContext:
    unknown = set(options) - {o.name for o in rule.options}
    assert not unknown, f"{rule.name} has no option {sorted(unknown)}"
    analyses = ModelAnalyses(model, graph, inputs, probe_enabled=probe)
    return CheckContext(name, model, graph, tuple(inputs), analyses, options={**rule.default_options(), **options},
                        show_all=show_all, probe_enabled=probe)


def run_on_graph(rule: type[Rule], model: Any, graph: ArchGraph, inputs: Sequence[Any], **kwargs: Any) -> list[Finding]:
    """Run `rule` directly on a traced graph (the check itself runs: nothing can skip it)."""
    return list(rule().check(context_for(rule, model, graph, inputs, **kwargs)))


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> ModuleType:
    """An examples/ file imported as a module (each call a fresh import)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


FIXTURES = Path(__file__).parent / "fixtures"


def fixture(stem: str) -> ModuleType:
    """A rule's fixture file (tests/rules/fixtures/<stem>.py), imported fresh."""
    spec = importlib.util.spec_from_file_location(f"archlint_fixture_{stem}", FIXTURES / f"{stem}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fixture_verdicts(stem: str) -> dict[str, str]:
    """Model class name -> "bad" or "good" in a fixture file, from the first word of its docstring."""
    module = fixture(stem)
    return {name: obj.__doc__.split(":")[0] for name, obj in vars(module).items()
            if isinstance(obj, type) and obj.__module__ == module.__name__
            and (obj.__doc__ or "").startswith(("bad:", "good:"))}


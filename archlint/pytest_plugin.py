"""archlint's pytest plugin (entry point `pytest11`): a fixture, and `pytest --archlint`.

Fixture::

    def test_model(archlint):
        report = archlint.check(MyNet(), torch.randn(2, 3, 64, 64))
        report.assert_clean(fail_on="warning", ignore=["AL501"])
        assert not report.by_rule("gradient-flow")

While a test that uses the fixture runs, archlint records where each module is constructed, so
findings point at the `self.x = ...` line of models built inside the test. Settings passed to
`check` are those of `[tool.archlint]` (select, ignore, rule_options, probe...); without them the
project's configuration is used, when one is found.

Collection mode: `pytest --archlint` adds one test item per model declared in `[tool.archlint]`
(or discovered in its configured paths), named after the model and marked `archlint`, so `-m
archlint`, `-k NAME` and `-n 2` (pytest-xdist) work as for any test. An item fails with the
findings at or above the fail level, listed the way `archlint check` prints them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:   # importing archlint imports torch: not at pytest start-up of every project
    from archlint.plugin.findings import Severity
    from archlint.plugin.results import Report

MARKER = "archlint"


class ArchlintChecker:
    """What the `archlint` fixture gives a test: `check(model, inputs, **settings) -> Report`."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = dict(settings or {})
        self.reports: list[Report] = []

    def check(self, model: Any, example_inputs: Any = None, **settings: Any) -> Report:
        from archlint.api import check_built_model
        from archlint.plugin.host import PluginChoice
        from archlint.run.session import host_for

        # the run's host, unless the test adds plugins of its own for this call
        host = None if settings.get("plugins") else host_for(PluginChoice())
        report = check_built_model(model, example_inputs, host=host, **{**self.settings, **settings})
        self.reports.append(report)
        return report


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("archlint", "architecture lint of PyTorch models")
    group.addoption("--archlint", action="store_true", default=False,
                    help="add one test item per model declared in [tool.archlint] (marker: archlint)")
    group.addoption("--archlint-fail-on", default=None, metavar="LEVEL",
                    help="severity that fails an archlint item: info, warning or error (default: from config)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: an architecture lint of one model (added by pytest --archlint)")


_FIXTURE_SETTINGS_KEY = pytest.StashKey[dict]()


def project_settings(config: pytest.Config) -> dict[str, Any]:
    """The `[tool.archlint]` selection, severities, rule options and probe switch as `check()` keywords."""
    if _FIXTURE_SETTINGS_KEY not in config.stash:
        from archlint.plugin.host import PluginChoice
        from archlint.run.config import ConfigError, find_config, load_settings
        from archlint.run.session import host_for

        path = find_config(config.rootpath)
        if path is None:
            config.stash[_FIXTURE_SETTINGS_KEY] = {}
        else:
            try:
                run = load_settings(path, host_for(PluginChoice()).rules).run
            except ConfigError as exc:
                raise pytest.UsageError(f"archlint: {exc}") from None
            # the file's values as keyword settings: check() validates them again, the same way
            config.stash[_FIXTURE_SETTINGS_KEY] = {
                "select": run.selection.select, "extend_select": run.selection.extend_select,
                "ignore": run.selection.ignore, "severity": run.severity_overrides,
                "rule_options": run.rule_options, "probe": run.probe, "device": run.device,
            }
    return config.stash[_FIXTURE_SETTINGS_KEY]


@pytest.fixture
def archlint(request: pytest.FixtureRequest) -> Iterator[ArchlintChecker]:
    """Lint models in a test: `archlint.check(model, inputs).assert_clean()`."""
    from archlint.load.construction import recording_sites

    settings = project_settings(request.config)
    with recording_sites():
        yield ArchlintChecker(settings)


# -- pytest --archlint: one item per configured model ---------------------------------------------------------

@dataclass(frozen=True)
class ModelTarget:
    """One model to lint as a test item: its loader spec (file or module + attribute) and shown name."""

    target: str
    attr: str
    name: str


class ArchlintFindings(Exception):
    """An item's model has findings at or above the fail level (or could not be linted)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class ArchlintItem(pytest.Item):
    def __init__(self, *, model_target: ModelTarget | None = None, problem: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.model_target = model_target
        self.problem = problem      # set when the item stands for a config or import error
        self.add_marker(MARKER)

    def runtest(self) -> None:
        if self.problem is not None:
            raise ArchlintFindings([f"error: {self.problem}"])
        from archlint.load.targets import ModelSpec
        from archlint.run.session import LintJob, lint_spec

        session = archlint_session(self.config)
        assert self.model_target is not None
        spec = ModelSpec(self.model_target.target, self.model_target.attr)
        report = lint_spec(LintJob(spec, session.settings))
        lines = failure_lines(report, session.settings.fail_on)
        if lines:
            raise ArchlintFindings(lines)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ArchlintFindings):
            return "\n".join(excinfo.value.lines)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        shown = "config"
        if self.model_target is not None:
            target = self.model_target.target
            shown = os.path.relpath(target, self.config.rootpath) if os.path.isabs(target) else target
        return self.path, None, f"archlint: {self.name} ({shown})"


def failure_lines(report: Report, fail_on: Severity) -> list[str]:
    """Errors and the findings at or above `fail_on`, printed as `archlint check` prints them."""
    from archlint.plugin.findings import finding_lines

    lines = [f"error: {e}" for e in report.errors]
    failing = report.failing(fail_on)
    for finding in failing:
        lines.extend(finding_lines(finding))
    if failing:
        lines.append(f"{len(failing)} finding(s) at or above {fail_on}; accept one with "
                     "`# archlint: ignore[CODE]` on its line, or `ignore` in [tool.archlint]")
    return lines


@dataclass
class ArchlintSession:
    settings: Any               # archlint.run.config.Settings
    config_path: Path | None
    targets: list[ModelTarget]
    problems: list[tuple[str, str]]   # (item name, one-line error)


_SESSION_KEY = pytest.StashKey[ArchlintSession]()


def archlint_session(config: pytest.Config) -> ArchlintSession:
    """Config and model list, resolved once per process (each xdist worker resolves the same list)."""
    if _SESSION_KEY not in config.stash:
        config.stash[_SESSION_KEY] = _resolve_session(config)
    return config.stash[_SESSION_KEY]


def _resolve_session(config: pytest.Config) -> ArchlintSession:
    from archlint.run.config import ConfigError, Overrides, Settings, find_config
    from archlint.run.session import start_run
    from archlint.run.setup import open_run, plan_run

    config_path = find_config(config.rootpath)
    try:
        host = open_run()   # a new pytest run is a new archlint run
        start_run(host)
        plan = plan_run(host, config_path, Overrides(fail_on=config.getoption("archlint_fail_on")))
    except (ConfigError, ValueError) as exc:
        return ArchlintSession(Settings(), config_path, [], [("config", str(exc))])
    settings = plan.settings
    problems = [(e.target, e.message) for e in plan.errors]
    targets: list[ModelTarget] = []
    for spec in plan.specs:
        found, problem = _models_of(spec, settings)
        targets.extend(found)
        if problem:
            problems.append((str(spec), problem))
    return ArchlintSession(settings, config_path, _unique_names(targets), problems)


def _models_of(spec: Any, settings: Any) -> tuple[list[ModelTarget], str | None]:
    """The models a spec stands for, found without building them (the file is imported once)."""
    from archlint.load.errors import LoadError
    from archlint.load.models import plan_models
    from archlint.load.options import entry_for
    from archlint.load.sandbox import imported

    if spec.attr:
        entry = entry_for(settings.models, None if spec.is_module else spec.target, spec.target, spec.attr)
        return [ModelTarget(spec.target, spec.attr, entry.name if entry and entry.name else spec.attr)], None
    try:
        with imported(spec) as module:
            plan = plan_models(spec, module, settings.models)
    except (LoadError, OSError, SyntaxError) as exc:
        return [], str(exc)
    found = []
    for candidate in plan.buildable:   # those that need arguments: `archlint check` notes them
        entry = entry_for(settings.models, spec.target, spec.target, candidate.attr)
        found.append(ModelTarget(spec.target, candidate.attr, entry.name if entry and entry.name else candidate.attr))
    if not found and not spec.from_directory:
        return [], "no model found that can be built without arguments"
    return found, None


def _unique_names(targets: list[ModelTarget]) -> list[ModelTarget]:
    """Two models with one name (two files) get the file in the name, so node ids stay unique."""
    counts: dict[str, int] = {}
    for t in targets:
        counts[t.name] = counts.get(t.name, 0) + 1
    return [t if counts[t.name] == 1 else
            ModelTarget(t.target, t.attr, f"{t.name}[{os.path.relpath(t.target)}]") for t in targets]


class ArchlintConfigFile(pytest.File):
    """The project's archlint config as a collector: its items are the configured models."""

    def collect(self) -> Iterator[pytest.Item]:
        session = archlint_session(self.config)
        for name, problem in session.problems:
            yield ArchlintItem.from_parent(self, name=f"error:{name}", problem=problem)
        for target in session.targets:
            yield ArchlintItem.from_parent(self, name=target.name, model_target=target)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the model items before -k / -m deselection (which runs in later implementations of this hook)."""
    if not config.getoption("archlint"):
        return
    resolved = archlint_session(config)
    path = resolved.config_path or config.rootpath / "pyproject.toml"
    collector = ArchlintConfigFile.from_parent(session, path=path)
    items[:0] = list(collector.collect())

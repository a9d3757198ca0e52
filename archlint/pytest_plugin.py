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

from typing import Any, Iterator

import pytest

from archlint.report import Report

MARKER = "archlint"


class ArchlintChecker:
    """What the `archlint` fixture gives a test: `check(model, inputs, **settings) -> Report`."""

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = dict(settings or {})
        self.reports: list[Report] = []

    def check(self, model: Any, example_inputs: Any = None, **settings: Any) -> Report:
        import archlint

        report = archlint.check(model, example_inputs, **{**self.settings, **settings})
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


@pytest.fixture
def archlint() -> Iterator[ArchlintChecker]:
    """Lint models in a test: `archlint.check(model, inputs).assert_clean()`."""
    from archlint.construction import recording_sites

    with recording_sites():
        yield ArchlintChecker()

"""The pytest plugin as users run it: a sample project in a temp dir, run with pytester."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from integration_support import USER_MODEL

pytest_plugins = ["pytester"]

SUPPORT = (Path(__file__).parent / "integration_support.py").read_text()

FIXTURE_TESTS = '''
import torch
from census import CENSUS_CODE
from tiny import TinyNet


def lint(archlint, model):
    # the census rule comes from its installed distribution (entry point), like any third-party rule
    return archlint.check(model, torch.randn(1, 3, 16, 16), select=[CENSUS_CODE])


def test_large_kernels_fail(archlint):
    lint(archlint, TinyNet()).assert_clean()


def test_accepted_by_ignore(archlint):
    lint(archlint, TinyNet()).assert_clean(ignore=["kernel-census"])


def test_only_errors_fail(archlint):
    lint(archlint, TinyNet()).assert_clean(fail_on="error")


def test_custom_asserts(archlint):
    report = lint(archlint, TinyNet())
    assert [f.module for f in report.by_rule("kernel-census")] == ["stem", "mid"]
    assert report.by_rule(CENSUS_CODE) == report.by_rule("kernel-census")


def test_model_built_in_the_test_is_located(archlint):
    class Local(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.big = torch.nn.Conv2d(3, 4, 9)  # LOCAL_BIG

        def forward(self, x):
            return self.big(x)

    (finding,) = lint(archlint, Local()).by_rule(CENSUS_CODE)
    assert (finding.file, finding.line) == (__file__, LOCAL_LINE)


LOCAL_LINE = next(i for i, line in enumerate(open(__file__), 1) if "# LOCAL_" + "BIG" in line)


def test_the_race_takes_the_same_arguments(archlint):
    zero = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    for layer in (zero[0], zero[2]):
        torch.nn.init.zeros_(layer.weight)
    report = archlint.check(zero, torch.randn(2, 4), select=["constant-init"], race=True, race_budget=20, loss="mse")
    races = {f.race for f in report.findings}
    assert len(races) == 1 and None not in races
    assert "(mean squared error)" in next(iter(races)).task and next(iter(races)).steps >= 5


def test_project_config_applies(archlint):
    # no select, no plugins here: pyproject.toml selects XT950 and the census distribution provides it
    report = archlint.check(TinyNet(), torch.randn(1, 3, 16, 16))
    assert {f.code for f in report.findings} == {CENSUS_CODE}
    assert [f.module for f in report.findings] == ["stem", "mid"]
'''


def make_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(census=SUPPORT, tiny=USER_MODEL)
    pytester.syspathinsert()


def test_fixture_mode(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    make_project(pytester)
    install_census_plugin(pytester, monkeypatch)
    pytester.makefile(".toml", pyproject='[tool.archlint]\nselect = ["XT950"]\n')
    pytester.makepyfile(test_models=FIXTURE_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=6, failed=1)
    output = result.stdout.str()
    # one line per finding, with its location, fix and measured effect (3*8*7*7+8 -> 3*8*3*3+8 params)
    stem_line = next(i for i, line in enumerate(USER_MODEL.splitlines(), 1) if "# STEM" in line)
    assert re.search(rf"tiny\.py:{stem_line}: XT950 kernel-census \[warning\] 7x7 convolution 3->8 \(stem\) "
                     rf"\| fix: use a 3x3 kernel \| effect: params: {3 * 8 * 49 + 8:,} -> {3 * 8 * 9 + 8:,}", output)
    assert f"effect: params: {8 * 16 * 25 + 16:,} -> {8 * 16 * 9 + 16:,}" in output
    assert "pass ignore=['XT950'] to assert_clean" in output


# -- pytest --archlint -------------------------------------------------------------------------------------

CLEAN_MODEL = """\
import torch
from torch import nn


class CleanNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.body(x), 1), 1))
"""

HELPERS_ONLY = """\
from torch import nn


def conv3x3(cin: int, cout: int):
    return nn.Conv2d(cin, cout, 3, padding=1)
"""

PYPROJECT = """\
[tool.archlint]
select = ["XT950"]
paths = ["models"]
"""

PLUGIN_MODULE = SUPPORT + """

@hookimpl
def archlint_rules():
    return [KernelCensus()]
"""


def install_census_plugin(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A third-party rule plugin the ordinary way: a distribution with an `archlint` entry point."""
    site = pytester.mkdir("site")
    (site / "census_rules.py").write_text(PLUGIN_MODULE)
    dist = site / "archlint_census-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: archlint-census\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[archlint]\nkernel-census = census_rules\n")
    monkeypatch.setenv("PYTHONPATH", str(site))   # for xdist workers
    pytester.syspathinsert(site)                    # for in-process runs


@pytest.fixture
def collection_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    install_census_plugin(pytester, monkeypatch)
    pytester.makefile(".toml", pyproject=PYPROJECT)
    models = pytester.mkdir("models")
    (models / "tiny.py").write_text(USER_MODEL)
    (models / "clean.py").write_text(CLEAN_MODEL)
    (models / "helpers.py").write_text(HELPERS_ONLY)
    pytester.makepyfile(test_unit="def test_unit():\n    assert 1 + 1 == 2\n")
    return pytester


def test_collection_mode(collection_project: pytest.Pytester):
    # A subprocess: pytester's in-process runs restore sys.modules afterwards, and torch cannot re-import
    # the operator libraries it loaded lazily while tracing.
    result = collection_project.runpytest_subprocess("--archlint", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=2, failed=1)
    output = result.stdout.str()
    assert "pyproject.toml::TinyNet FAILED" in output and "pyproject.toml::CleanNet PASSED" in output
    assert "helpers" not in output and "error:" not in output   # helpers.py has no model: no item, no error
    stem_line = next(i for i, line in enumerate(USER_MODEL.splitlines(), 1) if "# STEM" in line)
    # the failure is the findings, as `archlint check` prints them: no traceback
    assert re.search(rf"models/tiny\.py:{stem_line}: XT950 \[warning\] 7x7 convolution 3->8 \(stem\)", output)
    assert f"effect: params: {3 * 8 * 49 + 8:,} -> {3 * 8 * 9 + 8:,}" in output
    assert "2 finding(s) at or above warning" in output
    assert "Traceback" not in output and "def runtest" not in output


def test_collection_mode_with_xdist_marker_and_keyword(collection_project: pytest.Pytester):
    result = collection_project.runpytest_subprocess("--archlint", "-n", "2", "-m", "archlint", "-k", "not CleanNet",
                                                     "-p", "no:cacheprovider")
    # xdist deselects in the workers: the unit test (-m) and CleanNet (-k) are gone; TinyNet fails on a worker
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    assert "2 workers [1 item]" in output
    assert "FAILED pyproject.toml::TinyNet" in output and "XT950 [warning] 5x5 convolution 8->16 (mid)" in output


def test_fail_level_decides_which_findings_fail_an_item():
    from archlint.plugin.findings import Finding, Severity
    from archlint.pytest_plugin import failure_lines
    from archlint.plugin.results import ModelReport, Report, TargetError

    warning = Finding(code="AL501", rule="large-kernel", message="7x7", severity=Severity.WARNING, model="M")
    report = Report(models=[ModelReport(name="M", findings=[warning])])
    assert failure_lines(report, Severity.ERROR) == []
    assert failure_lines(report, Severity.WARNING)[0] == "<M>: AL501 [warning] 7x7"
    report.errors.append(TargetError("m.py:M", "could not trace the model", "trace"))
    assert failure_lines(report, Severity.ERROR) == ["error: m.py:M: could not trace the model"]


def test_without_the_option_no_items_are_added(collection_project: pytest.Pytester):
    result = collection_project.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)

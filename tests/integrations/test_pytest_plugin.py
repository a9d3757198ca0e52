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
from census import CENSUS_CODE, CensusPlugin
from tiny import TinyNet


def lint(archlint, model):
    return archlint.check(model, torch.randn(1, 3, 16, 16), plugins=(CensusPlugin(),), select=[CENSUS_CODE])


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
'''


def make_project(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(census=SUPPORT, tiny=USER_MODEL)
    pytester.syspathinsert()


def test_fixture_mode(pytester: pytest.Pytester):
    make_project(pytester)
    pytester.makepyfile(test_models=FIXTURE_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=4, failed=1)
    output = result.stdout.str()
    # one line per finding, with its location, fix and measured effect (3*8*7*7+8 -> 3*8*3*3+8 params)
    stem_line = next(i for i, line in enumerate(USER_MODEL.splitlines(), 1) if "# STEM" in line)
    assert re.search(rf"tiny\.py:{stem_line}: AL990 kernel-census \[warning\] 7x7 convolution 3->8 \(stem\) "
                     rf"\| fix: use a 3x3 kernel \| effect: params: {3 * 8 * 49 + 8:,} -> {3 * 8 * 9 + 8:,}", output)
    assert f"effect: params: {8 * 16 * 25 + 16:,} -> {8 * 16 * 9 + 16:,}" in output
    assert "pass ignore=['AL990'] to assert_clean" in output

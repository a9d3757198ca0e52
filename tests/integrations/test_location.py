"""Findings point at the user's line that built the layer: `self.x = ...`, a loop body, a literal element."""
from __future__ import annotations

import importlib.util
import sys
import textwrap

import pytest
import torch

import archlint
from archlint.load.construction import construction_site, recording_sites

from integration_support import CENSUS_CODE, CensusPlugin

MODEL_SOURCE = textwrap.dedent('''
    import torch
    from torch import nn


    def conv5x5(cin, cout):
        return nn.Conv2d(cin, cout, 5, padding=2)  # HELPER_RETURN


    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv1 = conv5x5(c, c)  # ASSIGN_CONV1
            self.conv2 = conv5x5(  # ASSIGN_CONV2
                c, c)

        def forward(self, x):
            return self.conv2(self.conv1(x))


    class Wrapper(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner  # WRAPPER_ASSIGN

        def forward(self, x):
            return self.inner(x)


    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            layers = []
            for i in range(3):
                layers.append(nn.Conv2d(3 if i == 0 else 8, 8, 7, padding=3))  # LOOP_BODY
            self.stem = nn.Sequential(*layers)
            self.block = Block(8)
            ready = nn.Conv2d(8, 8, 5, padding=2)  # READY_MADE
            self.wrapped = Wrapper(ready)
            self.head = nn.Sequential(
                nn.Conv2d(8, 4, 9, padding=4),  # LITERAL_ELEMENT
                nn.AdaptiveAvgPool2d(1),
            )

        def forward(self, x):
            return self.head(self.wrapped(self.block(self.stem(x))))
''')


def line_of(marker: str) -> int:
    """1-based line of the marker comment in MODEL_SOURCE, found independently of archlint."""
    for number, text in enumerate(MODEL_SOURCE.splitlines(), start=1):
        if f"# {marker}" in text:
            return number
    raise AssertionError(marker)


@pytest.fixture(scope="module")
def user_module(tmp_path_factory):
    path = tmp_path_factory.mktemp("userproject") / "user_models.py"
    path.write_text(MODEL_SOURCE)
    spec = importlib.util.spec_from_file_location("user_models_location", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop(spec.name, None)


EXPECTED = {
    "stem.0": "LOOP_BODY", "stem.1": "LOOP_BODY", "stem.2": "LOOP_BODY",
    "block.conv1": "ASSIGN_CONV1", "block.conv2": "ASSIGN_CONV2",
    "wrapped.inner": "READY_MADE", "head.0": "LITERAL_ELEMENT",
}


def test_construction_sites_prefer_the_assignment_line(user_module):
    with recording_sites():
        model = user_module.Net()
    sites = {name: construction_site(m) for name, m in model.named_modules()}
    for name, marker in EXPECTED.items():
        assert sites[name].file == user_module.__file__
        assert sites[name].line == line_of(marker), name
    # The helper's own line is never used for a module that user code stored as an attribute.
    assert line_of("HELPER_RETURN") not in {s.line for s in sites.values() if s}


def test_findings_carry_file_and_line_of_each_layer(user_module):
    with recording_sites():
        model = user_module.Net()
    report = archlint.check(model, torch.randn(1, 3, 16, 16), plugins=(CensusPlugin(),), select=[CENSUS_CODE])
    located = {f.module: (f.file, f.line) for f in report.by_rule(CENSUS_CODE)}
    # Every conv of the model has a kernel above 3, so each is a finding.
    assert set(located) == set(EXPECTED)
    for module, marker in EXPECTED.items():
        assert located[module] == (user_module.__file__, line_of(marker)), module


def test_model_built_before_recording_falls_back_to_the_class_attribute_line(user_module):
    model = user_module.Block(4)   # built outside any recording
    report = archlint.check(model, torch.randn(1, 4, 8, 8), plugins=(CensusPlugin(),), select=[CENSUS_CODE])
    located = {f.module: f.line for f in report.by_rule(CENSUS_CODE)}
    assert located == {"conv1": line_of("ASSIGN_CONV1"), "conv2": line_of("ASSIGN_CONV2")}


def test_recording_leaves_module_classes_as_they_were():
    init, setattr_ = torch.nn.Module.__init__, torch.nn.Module.__setattr__
    with recording_sites():
        with recording_sites():
            assert torch.nn.Module.__setattr__ is not setattr_
    assert torch.nn.Module.__init__ is init and torch.nn.Module.__setattr__ is setattr_


SUPPRESSED = textwrap.dedent('''
    from torch import nn


    def conv5x5(cin, cout):
        return nn.Conv2d(cin, cout, 5, padding=2)


    class Quiet(nn.Module):
        def __init__(self):
            super().__init__()
            self.kept = conv5x5(3, 8)
            self.accepted = conv5x5(8, 8)  # archlint: ignore[XT950]

        def forward(self, x):
            return self.accepted(self.kept(x))
''')


def test_inline_suppression_on_the_assignment_line_works_in_every_mode(tmp_path, monkeypatch, capsys):
    """The comment goes on the line findings point at; the helper's line stays shared and unmarked."""
    from archlint.cli import main
    from archlint.load.construction import recording_sites

    from integration_support import import_file, write_cli_project

    write_cli_project(tmp_path, SUPPRESSED)
    module = import_file(tmp_path / "models" / "net.py", "quiet_suppressed")
    with recording_sites():
        model = module.Quiet()
    api = archlint.check(model, torch.randn(1, 3, 8, 8), plugins=(CensusPlugin(),), select=[CENSUS_CODE])
    assert [f.module for f in api.findings] == ["kept"]
    monkeypatch.chdir(tmp_path)
    assert main(["check", "models/net.py", "-p", "census_rules", "--format", "json"]) == 1
    import json

    cli = json.loads(capsys.readouterr().out)
    assert [f["module"] for f in cli["models"][0]["findings"]] == ["kept"]


def test_a_class_given_to_check_is_built_while_recording(user_module):
    """archlint.check(Net, x) builds the class itself: its layers get their loop / assignment lines."""
    report = archlint.check(user_module.Net, torch.randn(1, 3, 16, 16), plugins=(CensusPlugin(),),
                            select=[CENSUS_CODE])
    located = {f.module: f.line for f in report.by_rule(CENSUS_CODE)}
    assert located == {module: line_of(marker) for module, marker in EXPECTED.items()}

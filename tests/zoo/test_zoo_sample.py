"""A fixed sample of published architectures, linted as the zoo sweep lints them (benchmarks/zoo.py).

Each model is built with random weights (torchvision, timm, Hugging Face from a small config) and
linted with default settings. The test asserts that it was linted, that no rule crashed (AL000), and
that its findings are exactly the reviewed ones (tests/zoo/reviewed.py): the findings the project stands by
(EXPECTED) plus the false alarms still open (KNOWN_FALSE_ALARMS), so a new false alarm fails here, and a fixed
one fails until it is taken off the list.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ZOO_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "zoo.py"
_spec = importlib.util.spec_from_file_location("archlint_zoo_sweep", ZOO_PATH)
assert _spec is not None and _spec.loader is not None
zoo = importlib.util.module_from_spec(_spec)
sys.modules["archlint_zoo_sweep"] = zoo
_spec.loader.exec_module(zoo)
reviewed = sys.modules["archlint_zoo_reviewed"] = zoo._reviewed


def test_the_sample_is_diverse() -> None:
    kinds = {"swin": "Swin", "bert": "BERT", "convnext": "ConvNeXt", "mixer": "MLP-Mixer", "mobilevit": "MobileViT",
             "gpt2": "a GPT", "vgg": "VGG", "fcn_": "segmentation", "r3d": "video"}
    missing = [what for key, what in kinds.items() if not any(key in name for name in reviewed.SAMPLE)]
    assert not missing and len(reviewed.SAMPLE) >= 20, missing
    assert set(reviewed.EXPECTED) <= set(reviewed.SAMPLE)   # every module-level verdict the project stands by runs in CI


@pytest.mark.slow
@pytest.mark.parametrize("name", reviewed.SAMPLE)
def test_sample_model_gets_exactly_its_reviewed_findings(name: str) -> None:
    row = zoo.lint_one(name)
    assert row["status"] == "linted", row
    assert row["errors"] == []
    found = {(f["code"], f["module"]) for f in row["findings"]}
    assert not [f for f in row["findings"] if f["code"] == "AL000"], row["findings"]
    expected = reviewed.EXPECTED.get(name, set()) | reviewed.KNOWN_FALSE_ALARMS.get(name, set())
    assert found == expected, {"unexpected": sorted(found - expected), "missing": sorted(expected - found)}

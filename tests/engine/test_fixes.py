"""Every fix runs: a fix's change is applied to a copy and verified, its after-numbers are measured on that copy
(and equal an independent count of the fixed model), a change that does not verify prints no after-number and says
why, and `--diff` / `--fix` round-trip on the bad examples: `git apply` takes the diff, the fixed file builds and
lints without the findings it fixed, and a second `--fix` changes nothing."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import archlint
from archlint.analysis.fixes import apply_change
from archlint.plugin.changes import ReplaceModule

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _check(folder: Path, name: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archlint", "check", name, *flags], capture_output=True, text=True,
                          cwd=folder)


def _findings(folder: Path, name: str, *flags: str) -> list[dict]:
    done = _check(folder, name, "--format", "json", "--exit-zero", *flags)
    report = json.loads(done.stdout)
    assert report["errors"] == [], report["errors"]
    return [f for m in report["models"] for f in m["findings"]]


FIXTURES = ROOT / "tests" / "rules" / "fixtures"


@pytest.mark.parametrize("source", [EXAMPLES / "large_kernel_bad.py", EXAMPLES / "constant_init_bad.py",
                                    EXAMPLES / "dropout_placement_bad.py", FIXTURES / "missing_bottleneck.py",
                                    FIXTURES / "flatten_fc_head.py"], ids=lambda p: p.name)
def test_fix_round_trips(tmp_path: Path, source: Path) -> None:
    """One rule at a time: two rules' fixes of one call (a dilation, a bottleneck) are made one per --fix."""
    example = source.name
    rule = source.stem.removesuffix("_bad").replace("_", "-")
    shutil.copy(source, tmp_path / example)
    subprocess.run(["git", "init", "-q", "."], cwd=tmp_path, check=True)
    before = _findings(tmp_path, example, "--select", rule)
    edited = [f for f in before if f["fix"] and f["fix"].get("edit")]
    assert edited and all(f["fix"]["verified"] for f in edited)
    diff = _check(tmp_path, example, "--diff", "--select", rule)
    assert diff.returncode == 1 and diff.stdout.startswith(f"--- a/{example}")
    assert (tmp_path / example).read_text() == source.read_text()      # --diff changes nothing
    (tmp_path / "fix.patch").write_text(diff.stdout)
    applied = subprocess.run(["git", "apply", "--check", "fix.patch"], cwd=tmp_path, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    fixed = _check(tmp_path, example, "--fix", "--select", rule)
    assert "archlint: fixed" in fixed.stderr and "not fixed" not in fixed.stderr, fixed.stderr
    after = _findings(tmp_path, example, "--select", rule)
    assert not {(f["code"], f["module"]) for f in after} & {(f["code"], f["module"]) for f in edited}
    text = (tmp_path / example).read_text()
    again = _check(tmp_path, example, "--fix", "--select", rule)
    assert (tmp_path / example).read_text() == text and "archlint: fixed" not in again.stderr


def test_after_numbers_are_those_of_the_fixed_model_counted_independently() -> None:
    from archlint_rules import large_kernel  # noqa: F401  (the rule module the finding comes from)

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 64, 7, padding=3), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    [finding] = archlint.check(model, torch.randn(2, 3, 32, 32), select=["large-kernel"]).findings
    assert finding.fix.verified is True
    copy_of = __import__("copy").deepcopy(model)
    apply_change(copy_of, finding.fix.change)
    effects = {m.name: m for m in finding.effect}
    assert effects["params"].after == sum(p.numel() for p in copy_of[2].parameters())
    assert effects["model params"].after == sum(p.numel() for p in copy_of.parameters())
    assert effects["model params"].before == sum(p.numel() for p in model.parameters())
    assert effects["non-linearities"].after == sum(isinstance(m, nn.ReLU) for m in copy_of[2].modules())


def test_a_change_that_does_not_verify_prints_no_after_number_and_says_why() -> None:
    from archlint.analysis.fixes import fixed_model
    from archlint.analysis.measurement import MeasurementUnavailable

    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3, padding=1))
    wrong = ReplaceModule("2", "nn.Conv2d(8, 5, 3, padding=1)")
    with pytest.raises(MeasurementUnavailable, match=r"outputs \(\[2, 5, 8, 8\] float32\) differ from the model's"):
        fixed_model(model, (torch.randn(2, 3, 8, 8),), wrong, None, lambda m, g: None)
    broken = ReplaceModule("2", "nn.Conv2d(7, 4, 3, padding=1)")
    with pytest.raises(MeasurementUnavailable, match="does not run the example input"):
        fixed_model(model, (torch.randn(2, 3, 8, 8),), broken, None, lambda m, g: None)
    assert isinstance(model[2], nn.Conv2d) and model[2].out_channels == 4          # the model itself is untouched


def test_past_the_fix_budget_a_fix_says_it_was_not_run_and_prints_no_after_number(monkeypatch) -> None:
    """Each fixed copy is traced again: a model whose trace takes seconds stops verifying fixes past the budget."""
    from archlint.analysis import shared

    monkeypatch.setattr(shared, "FIX_BUDGET_SECONDS", 0.0)
    model = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 64, 7, padding=3), nn.ReLU(),
                          nn.Conv2d(64, 64, 7, padding=3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(64, 10))
    first, second = archlint.check(model, torch.randn(2, 3, 32, 32), select=["large-kernel"]).findings
    assert first.fix.verified is True and second.fix.verified is False
    assert any("past the lint's 0 s for them (1 verified before" in why for why in second.unmeasured), \
        second.unmeasured
    assert all(e.after is None for e in second.effect if e.name == "model params")


def test_a_functional_conv_keeps_its_snippet_and_says_no_fix_was_run() -> None:
    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 32, 3, padding=1)
            self.weight = nn.Parameter(torch.randn(64, 32, 7, 7) * 0.01)
            self.head = nn.Linear(64, 10)

        def forward(self, x):
            x = nn.functional.conv2d(torch.relu(self.stem(x)), self.weight, padding=3)
            return self.head(x.mean(dim=(2, 3)))

    [finding] = archlint.check(Functional(), torch.randn(2, 3, 32, 32), select=["large-kernel"]).findings
    assert finding.fix.change is None and finding.fix.verified is None and finding.fix.snippet
    assert all(m.after is None for m in finding.effect)
    assert any("no module to replace on a copy, so no fix was run" in u for u in finding.unmeasured)


@pytest.mark.parametrize("call, edited", [
    ("F.dropout(h, 0.5)", "F.dropout(h, 0.5, training=self.training)"),
    ("F.dropout(h, 0.5, True)", "F.dropout(h, 0.5, self.training)"),
    ("F.dropout(h, p=0.5, training=True)", "F.dropout(h, p=0.5, training=self.training)"),
    ("torch.nn.functional.dropout(h, 0.5, True, False)", "torch.nn.functional.dropout(h, 0.5, self.training, False)"),
])
def test_a_functional_dropout_edit_sets_training_wherever_it_is_passed(call: str, edited: str) -> None:
    from archlint.plugin.changes import CallEdit
    from archlint.run.edits import apply_edits

    source = f"class Net:\n    def forward(self, h):\n        return {call}  # kept\n\n\ndef free(h):\n    return {call}\n"
    edit = CallEdit("net.py", 3, "dropout", "", argument=("training", 2, "self.training"))
    after, made = apply_edits(source, [edit])
    assert made == [edit]
    assert after == source.replace(f"return {call}  # kept", f"return {edited}  # kept")
    # outside a method there is no `self.training` to tie to: nothing is edited
    assert apply_edits(source, [CallEdit("net.py", 7, "dropout", "", argument=("training", 2, "self.training"))]) \
        == (source, [])

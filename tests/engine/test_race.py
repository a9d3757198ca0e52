"""The race (`--race`): the lesson cards' own experiments, reproduced on models written here, and the race's contract
(determinism, the user's model untouched, the user's data, bad input in the user's words).

ML0033: a zero-initialised MLP on a binary task stays at ln 2; re-initialised, its loss falls. DL0002: all-ones
against random initialisation. DL0001: a deep plain stack with batch norms (plain-34-like, at small width) whose
initial backward signal does not fade, so only the race shows it trains worse than with shortcuts. DL0011: a
flatten+FC head against GAP+FC (far fewer parameters). ML0007: dropout on the logits.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from torch import nn

import archlint
from archlint.plugin.findings import RaceVerdict

RACE = {"race": True, "race_budget": 40}


def _mlp(init: str) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 2))
    for layer in model:
        if isinstance(layer, nn.Linear):
            (nn.init.zeros_ if init == "zeros" else nn.init.ones_)(layer.weight)
            nn.init.zeros_(layer.bias)
    return model


def _binary_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(4, 8, generator=torch.Generator().manual_seed(0)),)


def test_a_zero_initialised_mlp_stays_at_ln2_and_its_fix_trains() -> None:
    """ML0033's curve: the loss of the zero-initialised MLP stays at ln 2 on a binary task; the fix's falls."""
    report = archlint.check(_mlp("zeros"), _binary_inputs(), select=["constant-init"], **RACE)
    findings = report.findings
    assert {f.module for f in findings} == {"0", "2", "4"}
    race = findings[0].race
    assert race is not None and all(f.race == race for f in findings)   # one change, one race
    assert race.final_before == pytest.approx(math.log(2), abs=0.02)
    assert max(max(c) - min(c) for c in race.before) < 0.1              # flat: nothing is learned
    assert race.final_after < 0.5 and race.verdict is RaceVerdict.BETTER
    assert "random class ids of 2 classes (cross-entropy)" in race.task
    metric = next(m for m in findings[0].effect if m.name.startswith("training loss after"))
    assert (metric.before, metric.after) == (float(f"{race.final_before:.6g}"), float(f"{race.final_after:.6g}"))
    assert "trains better" in metric.method and "seeds 0, 1, 2" in metric.method


def test_all_ones_initialisation_trains_worse_than_random() -> None:
    """DL0002: every unit of an all-ones layer computes the same function and gets the same gradient."""
    report = archlint.check(_mlp("ones"), _binary_inputs(), select=["constant-init"], **RACE)
    race = report.findings[0].race
    assert race is not None and race.verdict is RaceVerdict.BETTER
    assert race.final_after < race.final_before - max(race.spread_before, race.spread_after)


def _plain(depth: int = 34, width: int = 8) -> nn.Module:
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    for _ in range(depth - 2):
        layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))


def test_a_plain_34_keeps_its_initial_signal_and_only_the_race_shows_it_trains_worse() -> None:
    """DL0001, network degradation: with batch norms the plain chain's first layer gets as much backward signal as
    its last, so the gradient measurement alone stays silent; the race reports it, with the race as its evidence."""
    inputs = (torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)),)
    silent = archlint.check(_plain(), inputs, select=["missing-residual"])
    assert silent.findings == [] and "missing-residual" in silent.models[0].rules_run
    [finding] = archlint.check(_plain(), inputs, select=["missing-residual"], **RACE).findings
    race = finding.race
    assert race is not None and race.verdict is RaceVerdict.BETTER
    assert "the initial backward signal does not fade, but in a" in finding.message
    assert f"{race.final_before:.3g}" in finding.message and "it trains worse without them" in finding.message
    ratio = finding.effect[0]
    assert ratio.before >= 0.5      # what the measurement alone said: no fading
    assert finding.fix.verified and finding.severity is archlint.Severity.WARNING


class _FlattenHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1),
                                  nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 16 * 16, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def test_a_flatten_head_against_global_pooling_races_with_far_fewer_parameters() -> None:
    """DL0011: the GAP head has a fraction of the parameters; the race says how the two train, measured."""
    torch.manual_seed(0)
    inputs = (torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)
    [finding] = archlint.check(_FlattenHead(), inputs, select=["flatten-fc-head"], **RACE).findings
    params = next(m for m in finding.effect if m.name.startswith("head params"))
    assert params.after < params.before / 50
    race = finding.race
    assert race is not None and all(math.isfinite(v) for c in (*race.before, *race.after) for v in c)
    assert race.verdict in RaceVerdict and race.steps >= 5


class _DropoutOnLogits(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(8, 64), nn.ReLU())
        self.head = nn.Linear(64, 4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.head(self.body(x)))


def test_dropout_on_the_logits_trains_worse_than_without_it() -> None:
    """ML0007: dropout on the predictions zeroes them at random; without it the same model fits faster."""
    torch.manual_seed(0)
    report = archlint.check(_DropoutOnLogits(), (torch.randn(4, 8),), select=["dropout-placement"], **RACE)
    [finding] = [f for f in report.findings if f.code == "AL703"]
    race = finding.race
    assert race is not None and race.final_after < race.final_before
    assert race.verdict is RaceVerdict.BETTER


def test_the_race_is_deterministic_and_leaves_the_model_as_it_was() -> None:
    model = _mlp("zeros").eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(123)
    rng = torch.get_rng_state()
    first = archlint.check(model, _binary_inputs(), select=["constant-init"], **RACE).findings[0].race
    assert torch.equal(torch.get_rng_state(), rng) and not model.training
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in weights.items())
    second = archlint.check(model, _binary_inputs(), select=["constant-init"], **RACE).findings[0].race
    assert first is not None and second is not None
    assert (first.before, first.after) == (second.before, second.after)


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archlint", "check", *args], capture_output=True, text=True,
                          cwd=folder)


MODEL = textwrap.dedent("""
    import torch
    from torch import nn

    class ZeroNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(6, 16)
            self.out = nn.Linear(16, 3)
            nn.init.zeros_(self.hidden.weight)
            nn.init.zeros_(self.out.weight)

        def forward(self, x):
            return self.out(torch.relu(self.hidden(x)))

    def example_inputs():
        return (torch.randn(4, 6),)
""")

DATA = textwrap.dedent("""
    import torch

    def batches():
        generator = torch.Generator().manual_seed(7)
        for _ in range(40):
            x = torch.randn(8, 6, generator=generator)
            yield x, (x[:, :3] > 0).float()     # three binary targets, fitted with mse
""")


def test_the_users_data_and_loss_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(MODEL)
    (tmp_path / "mydata.py").write_text(DATA)
    done = _run(tmp_path, "net.py", "--select", "constant-init", "--race", "--race-budget", "20",
                "--data", "mydata:batches", "--loss", "mse", "--format", "json", "--exit-zero")
    assert done.returncode == 0, done.stderr
    finding = json.loads(done.stdout)["models"][0]["findings"][0]
    race = finding["race"]
    assert race["task"] == "the batches of `mydata:batches` (mean squared error)"
    assert race["steps"] == 40 and race["batch"] == 8 and len(race["before"]) == 3
    assert race["verdict"] in {v.value for v in RaceVerdict}
    assert any(m["name"] == "training loss after 40 steps" for m in finding["effect"])


@pytest.mark.parametrize("args, answer", [
    (["--race-budget", "5"], "--race-budget, --data and --loss are settings of the race: add --race"),
    (["--race", "--data", "mydata"], "--data: expected module:function"),
    (["--race", "--loss", "hinge"], "invalid choice: 'hinge'"),
    pytest.param(["--race", "--device", "cuda"], "--device cuda: no CUDA GPU is available",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")),
])
def test_bad_race_flags_get_one_line_and_exit_2(tmp_path: Path, args: list[str], answer: str) -> None:
    (tmp_path / "net.py").write_text(MODEL)
    done = _run(tmp_path, "net.py", *args)
    assert done.returncode == 2 and answer in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3


def test_a_race_that_does_not_fit_its_budget_says_so(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(MODEL)
    (tmp_path / "mydata.py").write_text(DATA)
    done = _run(tmp_path, "net.py", "--select", "constant-init", "--race", "--race-budget", "0.0001",
                "--format", "json", "--exit-zero")
    finding = json.loads(done.stdout)["models"][0]["findings"][0]
    assert "race" not in finding
    assert any(u.startswith("race not run: the race did not fit") for u in finding["unmeasured"])


def test_the_config_turns_the_race_on(tmp_path: Path) -> None:
    (tmp_path / "net.py").write_text(MODEL)
    (tmp_path / "archlint.yaml").write_text("race: true\nrace-budget: 15\n")
    done = _run(tmp_path, "net.py", "--select", "constant-init", "--format", "json", "--exit-zero")
    assert "race" in json.loads(done.stdout)["models"][0]["findings"][0], done.stderr
    (tmp_path / "archlint.yaml").write_text("race-budget: 15\n")
    refused = _run(tmp_path, "net.py")
    assert refused.returncode == 2 and "race-budget" in refused.stderr and "race = true" in refused.stderr


def test_the_batch_is_halved_until_the_race_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps are cut to what fits; when not even the fewest steps fit, the batch is halved (down to 2), and the
    race says what fit."""
    from archlint.analysis import race as race_module

    real = race_module._race_at
    tried: list[int] = []

    def only_small_batches(model, fixed, inputs, shape, settings, allowance, label, task):
        tried.append(settings.batch)
        if settings.batch > 4:        # as a model whose step at batch 16 or 8 would not fit the budget
            raise race_module._DidNotFit("did not fit")
        return real(model, fixed, inputs, shape, settings, allowance, label, task)

    monkeypatch.setattr(race_module, "_race_at", only_small_batches)
    model = _mlp("zeros")
    result = race_module.run_race(model, model, _binary_inputs(), (4, 2), race_module.RaceSettings(steps=10), 30.0)
    assert tried == [16, 8, 4] and result.batch == 4
    assert result.budget.startswith("batch 4 (16 did not fit), 10 steps in")


def test_a_race_past_the_memory_budget_is_not_run_and_says_what_it_counted(monkeypatch) -> None:
    """Two trained copies with Adam's moments and the activations at the race's batch, estimated before any step
    (the weights counted once per copy: scaled with the batch, vgg11 had been refused at 19.5 GiB)."""
    monkeypatch.setenv("ARCHLINT_MEMORY_BUDGET", "64KiB")
    report = archlint.check(_mlp("zeros"), _binary_inputs(), select=["constant-init"], **RACE)
    findings = report.models[0].findings
    assert findings
    for finding in findings:
        said = next(u for u in finding.unmeasured if u.startswith("race not run"))
        assert "the race would need about" in said and "two Adam moments each" in said and "at batch 16" in said, said
        assert not any(e.name.startswith("training loss") for e in finding.effect)


# learning where two patches are takes more steps than fitting random targets: room for all 200 on a loaded machine
WIDE_RACE = {"race": True, "race_budget": 150}


class _NarrowField(nn.Module):
    """Three 3×3 convolutions (a 7 px receptive field) and a global-pooling head on 32 px images."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*[layer for i in range(3) for layer in (
            nn.Conv2d(3 if i == 0 else 16, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU())])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 2))

    def forward(self, x):
        return self.head(self.features(x))


def test_a_receptive_field_finding_races_on_a_task_that_needs_what_the_model_can_see() -> None:
    """Which of two patches 16 px apart is brighter: a 7 px field cannot tell (its loss stays at ln 2, the patches
    are away from the borders and the samples fresh each step), the fix's dilated convolution can."""
    torch.manual_seed(0)
    report = archlint.check(_NarrowField(), torch.randn(2, 3, 32, 32), select=["receptive-field"], **WIDE_RACE)
    (finding,) = report.models[0].findings
    assert finding.fix is not None and finding.fix.verified, finding.unmeasured
    race = finding.race
    assert race is not None, finding.unmeasured
    assert race.task.startswith("tell which of two 4×4 px patches 16 px apart"), race.task
    assert race.steps >= 100 and abs(race.final_before - math.log(2)) < 0.03, (race.steps, race.final_before)
    assert race.verdict is RaceVerdict.BETTER and race.final_after < race.final_before - 0.1, race.final_after


class _NarrowFieldFlattened(_NarrowField):
    """The same narrow field with a flatten head: the head sees every position, so the field does not limit it."""

    def __init__(self):
        super().__init__()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 32 * 32, 2))


def test_a_receptive_field_finding_the_race_does_not_confirm_is_info_and_says_so() -> None:
    torch.manual_seed(0)
    report = archlint.check(_NarrowFieldFlattened(), torch.randn(2, 3, 32, 32), select=["receptive-field"],
                            **WIDE_RACE)
    (finding,) = report.models[0].findings
    assert finding.race is not None and finding.race.verdict is not RaceVerdict.BETTER, finding.race
    assert str(finding.severity) == "info" and "the race does not confirm it (info)" in finding.message, finding.message
    narrow = archlint.check(_NarrowField(), torch.randn(2, 3, 32, 32), select=["receptive-field"], **WIDE_RACE)
    (confirmed,) = narrow.models[0].findings
    assert str(confirmed.severity) == "warning" and "the wider field" in confirmed.message, confirmed.message

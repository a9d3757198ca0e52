"""The race's overhead against a hand-written PyTorch training loop of the same work, and the race per finding.

    python benchmarks/race.py                      # resnet18 at 32x32 and a small MLP, 5 repetitions
    python benchmarks/race.py --repeat 3 --steps 30

Overhead: `run_race(model, fixed, ...)` against a plain loop that does the same work (for each seed: a copy of both
models, Adam, then per step one zero_grad/forward/loss/backward/step of each on the same batch, the loss read as a
float), on the same batches, in this process, interleaved repetition by repetition; medians. The fixed copy is the
model itself here: what is timed is the training, not what a fix changes. Target: race / loop <= 1.05.

Per finding: `archlint check TARGET --race` in a fresh process, the `race` phase of `--profile` divided by the races
that ran. With `--zoo NAME...` (names of benchmarks/zoo.py, e.g. `tv:resnet18`), each zoo model is linted through the
API with and without the race (the same default budget of 60 s shared by its races): the difference in wall time,
divided by the findings whose race ran, is the race's time per finding on that model.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from archlint.analysis.race import RaceSettings, run_race, synthetic_task

ROOT = Path(__file__).resolve().parents[1]


def _models() -> dict[str, tuple[nn.Module, tuple[torch.Tensor, ...]]]:
    import torchvision

    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(32, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    return {"resnet18 32x32": (torchvision.models.resnet18(num_classes=10), (torch.randn(2, 3, 32, 32),)),
            "mlp 32-256-256-10": (mlp, (torch.randn(2, 32),))}


def hand_loop(model: nn.Module, fixed: nn.Module, inputs: tuple[torch.Tensor, ...], settings: RaceSettings) -> None:
    """What anyone would write to train the two models side by side on the race's batches."""
    for seed in settings.seeds:
        task = synthetic_task(inputs, (2, 10), settings, seed)
        a, b = copy.deepcopy(model).train(), copy.deepcopy(fixed).train()
        opt_a = torch.optim.Adam(a.parameters(), lr=settings.learning_rate)
        opt_b = torch.optim.Adam(b.parameters(), lr=settings.learning_rate)
        for x, y in task.batches[:settings.steps]:
            for net, opt in ((a, opt_a), (b, opt_b)):
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(net(*x), y)
                loss.backward()
                opt.step()
                float(loss.detach())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--no-cli", action="store_true", help="skip the per-finding timing of `archlint check --race`")
    parser.add_argument("--zoo", nargs="*", default=[], help="zoo models (benchmarks/zoo.py names) to time per finding")
    args = parser.parse_args()
    if args.zoo:
        zoo_per_finding(args.zoo)
        return
    torch.set_num_threads(2)
    settings = RaceSettings(steps=args.steps)
    print("| model | hand-written loop s | race s | race / loop |\n|---|---|---|---|")
    for name, (model, inputs) in _models().items():
        loop_times, race_times = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            hand_loop(model, model, inputs, settings)
            loop_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            race = run_race(model, model, inputs, (2, 10), settings, allowance=1e9)
            race_times.append(time.perf_counter() - started)
            assert race.steps == args.steps
        loop, raced = statistics.median(loop_times), statistics.median(race_times)
        print(f"| {name} | {loop:.2f} | {raced:.2f} | {raced / loop:.3f}x |", flush=True)
    if not args.no_cli:
        example = ROOT / "examples" / "constant_init_bad.py"
        done = subprocess.run([sys.executable, "-m", "archlint", "check", str(example), "--race", "--profile",
                               "--format", "json", "--exit-zero"], capture_output=True, text=True)
        race_line = next((line for line in done.stderr.splitlines() if line.startswith("race ")), "race  0 0")
        print(f"\n{example.name} --race: {race_line.split()[1]} race(s), {float(race_line.split()[2]):.1f} s "
              f"in the race phase")


def zoo_per_finding(names: list[str]) -> None:
    """The race's wall time per finding on zoo models: a lint with the race against the same lint without it."""
    import archlint

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import zoo

    print("| model | findings | races run | lint s | lint + race s | race s per finding | verdicts |\n"
          "|---|---|---|---|---|---|---|")
    for name in names:
        torch.manual_seed(0)
        model, inputs = zoo.builder(name)()
        started = time.perf_counter()
        archlint.check(model, inputs)
        plain_s = time.perf_counter() - started
        started = time.perf_counter()
        raced = archlint.check(model, inputs, race=True)
        raced_s = time.perf_counter() - started
        findings = [f for m in raced.models for f in m.findings]
        races = [f.race for f in findings if f.race is not None]
        per = (raced_s - plain_s) / len(races) if races else float("nan")
        verdicts = ", ".join(sorted({str(r.verdict.name).lower() for r in races})) or "-"
        print(f"| {name} | {len(findings)} | {len(races)} | {plain_s:.1f} | {raced_s:.1f} | {per:.1f} | {verdicts} |",
              flush=True)


if __name__ == "__main__":
    main()

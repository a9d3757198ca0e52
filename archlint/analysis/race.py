"""The race: the model as it is and a fixed copy trained side by side for the same short budget.

Both start from their own weights (the fixed copy keeps every weight the fix did not change), see the same batches
in the same order, the same optimiser settings and the same random stream (dropout) step by step, over several
seeds. What is compared is the training loss after N steps: the median over seeds of each side's final loss (the
mean of its last tenth of steps), and the spread between seeds. A verdict is given only when the difference of the
medians is larger than the spread of either side; otherwise the race says there is no difference within seed noise.

The task is the user's (`RaceSettings.data`: a callable returning `(inputs, targets)` batches) or, by default, a
trainability test derived from the model's own inputs and outputs: a fixed set of random inputs shaped like the
example inputs, each with a random target of the output's shape and kind (a class id for class logits, a normal
value otherwise), to be fitted. A model that cannot fit random targets faster than its fix cannot learn either.

The race trains copies with storage of their own: the user's model, its weights, modes and RNG are untouched.
"""
from __future__ import annotations

import copy
import dataclasses
import importlib
import importlib.util
import math
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from archlint.analysis.measurement import MeasurementUnavailable
from archlint.mechanics.errors import describe_exception
from archlint.mechanics.progress import Progress, progress_wanted
from archlint.mechanics.state import preserved_rng
from archlint.mechanics.tensors import tensors_in
from archlint.plugin.findings import Race, RaceTask, RaceVerdict

LOSSES = ("auto", "cross-entropy", "mse")
MIN_STEPS = 5       # fewer steps than this say nothing about training: the race is not run
CALIBRATION_STEPS = 3   # the steps per seed are re-estimated from the fastest of the first steps


class RaceClock:
    """The run's race budget, spent race by race: each race gets its share of what is left."""

    def __init__(self) -> None:
        self.spent = 0.0

    def allowance(self, budget: float, pending: int) -> float:
        return max(0.0, budget - self.spent) / max(1, pending)

    def charge(self, seconds: float) -> None:
        self.spent += seconds


@dataclass(frozen=True)
class RaceSettings:
    """How races are run (from `--race`, `--race-budget`, `--data`, `--loss`, or the API's and fixture's arguments)."""

    budget_seconds: float = 60.0      # shared by every race of the run
    steps: int = 200                  # at most; fewer when the budget does not fit them
    batch: int = 16
    samples: int = 64                 # the synthetic task's fixed set of inputs
    seeds: tuple[int, ...] = (0, 1, 2)
    learning_rate: float = 1e-3
    device: str = "cpu"
    data: Callable[[], Iterable[Any]] | None = None
    data_name: str = ""               # how the user named it (`module:function`), for the method
    loss: str = "auto"
    # one clock for the whole run (dataclasses.replace keeps it): the budget is shared by every race
    clock: RaceClock = field(default_factory=RaceClock, compare=False, repr=False)


def named_data(spec: str, base: Path | None) -> Callable[[], Iterable[Any]]:
    """The user's data function `module:function` or `path/file.py:function`, imported when the race first runs (its
    import is the user's code, like the model's)."""
    where, _, name = spec.rpartition(":")

    def load() -> Iterable[Any]:
        if where.endswith(".py"):
            path = Path(where) if Path(where).is_absolute() or base is None else base / where
            module_spec = importlib.util.spec_from_file_location(path.stem, path)
            if module_spec is None or module_spec.loader is None:
                raise FileNotFoundError(f"no Python file {path}")
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            if base is not None and str(base) not in sys.path:
                sys.path.insert(0, str(base))
            module = importlib.import_module(where)
        function = getattr(module, name)
        return function()

    return load


@dataclass
class _Task:
    batches: list[tuple[tuple[Any, ...], torch.Tensor]]
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    words: str


def _like(x: Any, count: int, generator: torch.Generator) -> Any:
    """`count` random samples shaped like one sample of the example input `x` (same dtype, same value range)."""
    if not isinstance(x, torch.Tensor) or x.dim() == 0:
        return x
    shape = (count, *x.shape[1:])
    if x.is_floating_point():
        return torch.randn(shape, generator=generator, dtype=x.dtype)
    if x.dtype == torch.bool:
        return torch.rand(shape, generator=generator) < 0.5
    low, high = int(x.min()), int(x.max())
    return torch.randint(low, max(high, low) + 1, shape, generator=generator, dtype=x.dtype)


def _first_output(outputs: Any) -> torch.Tensor:
    found = [t for t in tensors_in(outputs) if t.is_floating_point()]
    if not found:
        raise MeasurementUnavailable("the model's output has no floating-point tensor to train against")
    return found[0]


def _is_logits(output_shape: Sequence[int]) -> bool:
    return len(output_shape) == 2 and output_shape[1] >= 2


def _loss_function(kind: str, output_shape: Sequence[int], integer_targets: bool
                   ) -> tuple[Callable[[torch.Tensor, torch.Tensor], torch.Tensor], str]:
    if kind == "cross-entropy" or (kind == "auto" and integer_targets and _is_logits(output_shape)):
        return F.cross_entropy, "cross-entropy"
    return (lambda out, target: F.mse_loss(out, target.to(out.dtype))), "mean squared error"


def synthetic_task(example_inputs: Sequence[Any], output_shape: Sequence[int], settings: RaceSettings,
                   seed: int) -> _Task:
    """A fixed set of random inputs with random targets of the output's kind, in batches (a trainability test)."""
    generator = torch.Generator().manual_seed(seed)
    count = settings.samples
    inputs = [_like(x, count, generator) for x in example_inputs]
    classes = settings.loss != "mse" and _is_logits(output_shape)
    if classes:
        targets = torch.randint(0, int(output_shape[1]), (count,), generator=generator)
    else:
        targets = torch.randn((count, *output_shape[1:]), generator=generator)
    loss, loss_words = _loss_function(settings.loss, output_shape, classes)
    batch = min(settings.batch, count)
    per_epoch = count // batch
    batches = []
    for step in range(settings.steps):
        if step % per_epoch == 0:     # a new epoch: the fixed set in a new order
            order = torch.randperm(count, generator=generator)
        index = order[(step % per_epoch) * batch:(step % per_epoch + 1) * batch]
        batches.append((tuple(x[index] if isinstance(x, torch.Tensor) and x.dim() > 0 else x for x in inputs),
                        targets[index]))
    target_words = (f"random class ids of {output_shape[1]} classes" if classes
                    else f"random normal targets of shape {list(output_shape[1:])}")
    words = f"fit {count} random inputs shaped like the example inputs to {target_words} ({loss_words}), batch {batch}"
    return _Task(batches, loss, words)


def far_regions_task(example_inputs: Sequence[Any], output_shape: Sequence[int], settings: RaceSettings,
                     seed: int) -> _Task | None:
    """For an image model with class logits: noise images in which one of two patches, half the width apart and a
    quarter of it away from the side borders, is brighter, labelled by which one. A model can tell them apart only
    if some output position sees both patches (or a border and a patch): a receptive field narrower than that
    leaves it at chance (ln 2), so the task shows what a wider field buys. Fresh samples every step: nothing can be
    memorised. None when the model is not an image classifier."""
    first = example_inputs[0] if example_inputs else None
    if not (isinstance(first, torch.Tensor) and first.dim() == 4 and first.is_floating_point()
            and _is_logits(output_shape)) or len(example_inputs) > 1:
        return None
    channels, height, width = (int(d) for d in first.shape[1:])
    side = max(2, width // 8)
    generator = torch.Generator().manual_seed(seed)
    count = settings.steps * settings.batch
    images = torch.randn((count, channels, height, width), generator=generator, dtype=first.dtype)
    labels = torch.randint(0, 2, (count,), generator=generator)
    rows = slice(height // 2 - side // 2, height // 2 - side // 2 + side)
    for label, centre in enumerate((width // 4, 3 * width // 4)):
        columns = slice(centre - side // 2, centre - side // 2 + side)
        images[labels == label, :, rows, columns] += 1.0
    batches = [((images[i:i + settings.batch],), labels[i:i + settings.batch])
               for i in range(0, count, settings.batch)]
    words = (f"tell which of two {side}×{side} px patches {width // 2} px apart (columns {width // 4} and "
             f"{3 * width // 4} of {width}) is brighter by 1 in noise images (cross-entropy), fresh samples each step, "
             f"batch {settings.batch}: it needs a receptive field that spans both")
    return _Task(batches, F.cross_entropy, words)


def user_task(settings: RaceSettings, output_shape: Sequence[int]) -> _Task:
    """The user's batches (`--data module:function`): the first `steps` of them, the same for both models."""
    assert settings.data is not None
    batches = []
    try:
        for item in settings.data():
            inputs, target = item
            batches.append((tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,), target))
            if len(batches) == settings.steps:
                break
    except Exception as exc:
        raise MeasurementUnavailable(f"the race's data `{settings.data_name}` failed ({describe_exception(exc)})") \
            from None
    if not batches:
        raise MeasurementUnavailable(f"the race's data `{settings.data_name}` gave no batch")
    integer = not batches[0][1].is_floating_point()
    loss, loss_words = _loss_function(settings.loss, output_shape, integer)
    return _Task(batches, loss, f"the batches of `{settings.data_name}` ({loss_words})")


def trainable_copy(model: nn.Module, device: str) -> nn.Module:
    """A copy with storage of its own (a deep copy clones the storage the engine's copies share read-only), in train
    mode; parameters the user froze stay frozen."""
    return copy.deepcopy(model).to(device).train()


class _Runner:
    """One model's training in the race: its optimiser, its loss curve."""

    def __init__(self, model: nn.Module, settings: RaceSettings, loss: Callable[..., torch.Tensor]):
        self.model = trainable_copy(model, settings.device)
        self.optimiser = torch.optim.Adam([p for p in self.model.parameters() if p.requires_grad],
                                          lr=settings.learning_rate)
        self.loss = loss
        self.device = settings.device
        self.curve: list[float] = []

    def step(self, inputs: tuple[Any, ...], target: torch.Tensor, stream: int) -> float:
        if self.curve and not math.isfinite(self.curve[-1]):
            self.curve.append(math.inf)      # diverged: it stays there
            return 0.0
        started = time.perf_counter()
        # both models draw the same random numbers at the same step (dropout); the generator itself, as
        # torch.manual_seed costs a millisecond per call (it looks for every accelerator)
        torch.default_generator.manual_seed(stream)
        if self.device.startswith("cuda"):
            torch.cuda.manual_seed_all(stream)
        inputs = tuple(x.to(self.device) if isinstance(x, torch.Tensor) else x for x in inputs)
        self.optimiser.zero_grad(set_to_none=True)
        output = _first_output(self.model(*inputs))
        loss = self.loss(output, target.to(self.device))
        loss.backward()
        self.optimiser.step()
        value = float(loss.detach())
        self.curve.append(value if math.isfinite(value) else math.inf)
        return time.perf_counter() - started


def _final(curve: Sequence[float]) -> float:
    tail = curve[-max(1, len(curve) // 10):]
    return sum(tail) / len(tail)


def _verdict(before: list[float], after: list[float]) -> RaceVerdict:
    """Better or worse only when the medians differ by more than either side's spread between seeds."""
    difference = statistics.median(before) - statistics.median(after)
    spread = max(max(before) - min(before), max(after) - min(after))
    if len(before) < 2 or math.isnan(difference):
        return RaceVerdict.NO_DIFFERENCE
    if abs(difference) > spread:
        return RaceVerdict.BETTER if difference > 0 else RaceVerdict.WORSE
    return RaceVerdict.NO_DIFFERENCE


class _DidNotFit(MeasurementUnavailable):
    """Not even MIN_STEPS per seed fit the allowance at this batch."""


def _steps_that_fit(step_cost: float, left: float, seeds: int, wanted: int, done: int) -> int:
    """How many steps per seed fit in the `left` seconds, `done` steps of the first seed being run already."""
    # the rest of the first seed and every other seed: fits x seeds - done steps in `left` seconds
    fits = int((max(0.0, left) / max(step_cost, 1e-6) + done) / seeds)
    if fits < MIN_STEPS:
        raise _DidNotFit(
            f"the race did not fit its budget: one step of both models takes {step_cost:.2f} s, and {MIN_STEPS} "
            f"steps x {seeds} seeds are the least that says something (raise --race-budget)")
    return min(wanted, fits)


def run_race(model: nn.Module, fixed: nn.Module, example_inputs: Sequence[Any], output_shape: Sequence[int],
             settings: RaceSettings, allowance: float, label: str = "",
             task_kind: RaceTask = RaceTask.TRAINABILITY) -> Race:
    """Train `model` (as it is) and `fixed` side by side on the task over the settings' seeds, within `allowance`
    seconds: the steps are cut to what fits, measured on the first steps, and the batch halved (down to 2) while not
    even MIN_STEPS fit. Raises MeasurementUnavailable when the race cannot run or does not fit at batch 2."""
    started = time.perf_counter()
    batch = settings.batch
    while True:
        try:
            race = _race_at(model, fixed, example_inputs, output_shape, dataclasses.replace(settings, batch=batch),
                            allowance - (time.perf_counter() - started), label, task_kind)
        except _DidNotFit:
            if batch <= 2 or settings.data is not None:    # the user's batches are theirs
                raise
            batch //= 2
            continue
        if batch < settings.batch:
            race = dataclasses.replace(race, budget=f"batch {batch} ({settings.batch} did not fit), {race.budget}")
        return race


def _race_at(model: nn.Module, fixed: nn.Module, example_inputs: Sequence[Any], output_shape: Sequence[int],
             settings: RaceSettings, allowance: float, label: str, task_kind: RaceTask) -> Race:
    curves_before: list[list[float]] = []
    curves_after: list[list[float]] = []
    steps = settings.steps
    started = time.perf_counter()
    words = ""
    batch = 0
    costs: list[float] = []     # the first steps of both models, seconds (the first is slowed by warm-up)
    with preserved_rng(), Progress(len(settings.seeds) * steps, progress_wanted(), label=f"race {label}".strip()) as bar:
        for seed in settings.seeds:
            task = user_task(settings, output_shape) if settings.data else \
                task_kind is RaceTask.FAR_REGIONS and far_regions_task(example_inputs, output_shape, settings, seed) \
                or synthetic_task(example_inputs, output_shape, settings, seed)
            words, batch = task.words, int(task.batches[0][1].shape[0])
            steps = min(steps, len(task.batches))
            try:
                before, after = _Runner(model, settings, task.loss), _Runner(fixed, settings, task.loss)
                for step in range(settings.steps):
                    if step >= steps:     # the first steps of the first seed cut the steps to what fits
                        break
                    inputs, target = task.batches[step]
                    cost = before.step(inputs, target, seed * 100_003 + step)
                    cost += after.step(inputs, target, seed * 100_003 + step)
                    if not curves_before and step < CALIBRATION_STEPS:
                        costs.append(cost)
                        steps = _steps_that_fit(min(costs), allowance - (time.perf_counter() - started),
                                                len(settings.seeds), min(settings.steps, len(task.batches)), step + 1)
                        bar.retotal(len(settings.seeds) * steps)
                    bar.advance()
            except MeasurementUnavailable:
                raise
            except Exception as exc:
                raise MeasurementUnavailable(f"the race could not train the models ({describe_exception(exc)})") \
                    from None
            curves_before.append(before.curve[:steps])
            curves_after.append(after.curve[:steps])
    finals_before = [_final(c) for c in curves_before]
    finals_after = [_final(c) for c in curves_after]
    asked = f"{settings.steps} steps asked, {steps} fit" if steps < settings.steps else f"{steps} steps"
    return Race(
        task=words, steps=steps, batch=batch, optimiser=f"Adam, learning rate {settings.learning_rate:g}",
        seeds=tuple(settings.seeds), before=tuple(tuple(c) for c in curves_before),
        after=tuple(tuple(c) for c in curves_after), final_before=statistics.median(finals_before),
        final_after=statistics.median(finals_after),
        spread_before=max(finals_before) - min(finals_before), spread_after=max(finals_after) - min(finals_after),
        verdict=_verdict(finals_before, finals_after),
        budget=f"{asked} in {time.perf_counter() - started:.1f} s of a {allowance:.0f} s allowance",
        device=settings.device)


__all__ = ["LOSSES", "MIN_STEPS", "RaceClock", "RaceSettings", "named_data", "run_race", "synthetic_task", "trainable_copy",
           "user_task"]

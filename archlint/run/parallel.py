"""Lint many targets: in worker processes (`-j N`), with a per-model time limit (`--timeout`).

`lint_many(specs, lint_one, jobs=N, timeout=T)` calls the picklable, module-level `lint_one(spec)` for
every spec and merges the Reports in the order of `specs`, so the result (and exit code) does not
depend on `-j` or on which model finished first. Every target starts from the same RNG state
(seeded with 0 and restored afterwards), so a model built with random weights gets the same
weights whichever process builds it and whatever was built before it.

Workers are spawned (never forked: torch's threads and a user's half-imported modules do not
survive a fork). Each worker slot is a single-process `ProcessPoolExecutor`, so when one model
hangs past `--timeout` or crashes its process (segfault, os._exit, out of memory), exactly that
slot is killed and replaced; the model gets a `TargetError` (kind "timeout" or "internal") and the
others finish. The time limit starts when the model is handed to a warmed-up worker: starting the
process and importing torch are not charged to the model. With `jobs=1` and no timeout, targets
run in this process (nothing to isolate, nothing to spawn).

A progress bar (tqdm, optional) is shown on stderr when it is a terminal and not in CI.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence, TypeVar

from archlint.mechanics.progress import Progress, progress_wanted
from archlint.mechanics.state import preserved_rng
from archlint.plugin.results import ErrorKind, Report, TargetCause, TargetError

Spec = TypeVar("Spec")
def _lint_guarded(lint_one: Callable[[Spec], Report], spec: Spec, label: str) -> Report:
    """lint_one(spec), with any escaping exception turned into one TargetError line."""
    try:
        with preserved_rng(seed=0):   # every target starts from the same RNG state
            report = lint_one(spec)
    except Exception as exc:  # a broken target must not stop the others
        report = Report(errors=[TargetError(label, f"internal error: {type(exc).__name__}: {exc}", ErrorKind.INTERNAL, TargetCause.INTERNAL)])
    return report


def _lint_in_worker(lint_one: Callable[[Spec], Report], spec: Spec, label: str) -> Report:
    return _lint_guarded(lint_one, spec, label)   # a Report is plain data: it crosses processes as it is


def _worker_ready(lint_one: Callable[..., Any]) -> int:
    """First task of a worker: unpickling `lint_one` imports its module (and torch) before any clock starts."""
    return os.getpid()


@dataclass(eq=False)
class _Slot:
    """One worker process, owned by a single-process executor so it can be killed alone."""

    executor: cf.ProcessPoolExecutor
    ready: cf.Future
    pid: int | None = None

    @classmethod
    def start(cls, lint_one: Callable[..., Any]) -> "_Slot":
        executor = cf.ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        return cls(executor, executor.submit(_worker_ready, lint_one))

    def kill(self) -> None:
        pid = self.pid
        if pid is None and self.ready.done() and self.ready.exception() is None:
            pid = self.ready.result()
        if pid is not None:
            try:
                os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
            except (ProcessLookupError, PermissionError, OSError):
                pass
        self.executor.shutdown(wait=False, cancel_futures=True)


@dataclass
class _Running:
    index: int
    slot: _Slot
    deadline: float | None


@dataclass
class _Pool:
    lint_one: Callable[..., Any]
    size: int
    timeout: float | None
    slots: list[_Slot] = field(default_factory=list)

    def fill(self) -> None:
        while len(self.slots) < self.size:
            self.slots.append(_Slot.start(self.lint_one))

    def replace(self, slot: _Slot) -> None:
        slot.kill()
        if slot in self.slots:
            self.slots.remove(slot)
        self.fill()

    def close(self, graceful: bool) -> None:
        """Idle workers exit cleanly; after an interruption they are killed."""
        for slot in self.slots:
            if graceful:
                slot.executor.shutdown(wait=True)
            else:
                slot.kill()
        self.slots.clear()


def _failed_start(label: str, slot: _Slot) -> Report:
    return Report(errors=[TargetError(label, f"could not start a worker process: {slot.ready.exception()!r}", ErrorKind.INTERNAL, TargetCause.INTERNAL)])


def _run_in_workers(specs: Sequence[Spec], lint_one: Callable[[Spec], Report], labels: list[str], jobs: int,
                    timeout: float | None, progress: Progress) -> list[Report]:
    results: list[Report | None] = [None] * len(specs)
    waiting = list(range(len(specs)))
    running: dict[cf.Future, _Running] = {}
    pool = _Pool(lint_one, min(jobs, len(specs)), timeout)
    pool.fill()

    def finish(index: int, report: Report) -> None:
        results[index] = report
        progress.advance(labels[index])

    graceful = False
    try:
        while waiting or running:
            busy = {r.slot for r in running.values()}
            for slot in [s for s in pool.slots if s not in busy and s.ready.done()]:
                if not waiting:
                    break
                if slot.ready.exception() is not None:  # the process could not even start
                    index = waiting.pop(0)
                    finish(index, _failed_start(labels[index], slot))
                    pool.replace(slot)
                    continue
                slot.pid = slot.ready.result()
                index = waiting.pop(0)
                deadline = time.monotonic() + timeout if timeout else None
                running[slot.executor.submit(_lint_in_worker, lint_one, specs[index], labels[index])] = \
                    _Running(index, slot, deadline)
            if not running:
                cf.wait([s.ready for s in pool.slots], return_when=cf.FIRST_COMPLETED)
                continue
            deadlines = [r.deadline for r in running.values() if r.deadline is not None]
            wait_for = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            not_ready = [s.ready for s in pool.slots if not s.ready.done()]
            done, _ = cf.wait([*running, *not_ready], timeout=wait_for, return_when=cf.FIRST_COMPLETED)
            for future in [f for f in done if f in running]:
                job = running.pop(future)
                finish(job.index, _collect(future, job, labels[job.index], pool))
            now = time.monotonic()
            for future, job in [(f, j) for f, j in running.items() if j.deadline is not None and j.deadline <= now]:
                running.pop(future)
                pool.replace(job.slot)
                finish(job.index, Report(errors=[TargetError(
                    labels[job.index], f"timed out after {timeout:g} s (--timeout); the worker was stopped", ErrorKind.TIMEOUT, TargetCause.TIMEOUT)]))
        graceful = True
    finally:
        pool.close(graceful)
    return [r if r is not None else Report() for r in results]


def _collect(future: cf.Future, job: _Running, label: str, pool: _Pool) -> Report:
    try:
        return future.result()
    except BrokenProcessPool:
        pool.replace(job.slot)
        return Report(errors=[TargetError(label, "the worker process died while linting this model "
                                                 "(crash, os._exit or out of memory)", ErrorKind.INTERNAL, TargetCause.INTERNAL)])
    except Exception as exc:  # e.g. a result that could not be sent back
        return Report(errors=[TargetError(label, f"internal error: {type(exc).__name__}: {exc}", ErrorKind.INTERNAL, TargetCause.INTERNAL)])


def lint_many(specs: Sequence[Spec], lint_one: Callable[[Spec], Report], *, jobs: int = 1,
              timeout: float | None = None, label: Callable[[Spec], str] = str,
              progress: bool | None = None) -> Report:
    """Lint every spec with `lint_one` (module-level, picklable); one merged Report in the order of `specs`.

    jobs: worker processes (1 = in this process unless a timeout needs a killable worker).
    timeout: seconds per model, or None. progress: force the bar on/off (default: terminal and not CI).
    """
    labels = [label(spec) for spec in specs]
    bar = Progress(len(specs), progress_wanted() if progress is None else progress, unit="model", label="archlint")
    try:
        if jobs <= 1 and not timeout:
            reports = []
            for spec, name in zip(specs, labels):
                reports.append(_lint_guarded(lint_one, spec, name))
                bar.advance(name)
        else:
            reports = _run_in_workers(specs, lint_one, labels, max(jobs, 1), timeout, bar)
    finally:
        bar.close()
    merged = Report()
    for report in reports:
        merged.merge(report)
    return merged


__all__ = ["lint_many", "progress_wanted"]

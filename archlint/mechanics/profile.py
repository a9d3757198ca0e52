"""Where the time goes (--profile / ARCHLINT_PROFILE): exclusive wall time per phase of a run."""
from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Iterator

# -- where the time goes (--profile / ARCHLINT_PROFILE) ---------------------------------------------------

class Phases:
    """Wall time per phase of a run, exclusive: a phase started inside another pauses it, so the phases of
    a run add up to its total (the probe, run on a rule's behalf, is counted as the probe, not the rule)."""

    def __init__(self) -> None:
        self.enabled = bool(os.environ.get("ARCHLINT_PROFILE"))
        self.totals: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self._stack: list[list[Any]] = []     # [name, time it (re)started]

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        now = time.perf_counter()
        if self._stack:
            self._add(self._stack[-1][0], now - self._stack[-1][1])
        self._stack.append([name, now])
        self.counts[name] = self.counts.get(name, 0) + 1
        try:
            yield
        finally:
            now = time.perf_counter()
            current = self._stack.pop()
            self._add(current[0], now - current[1])
            if self._stack:
                self._stack[-1][1] = now

    def _add(self, name: str, seconds: float) -> None:
        self.totals[name] = self.totals.get(name, 0.0) + seconds

    def table(self, startup: float | None = None) -> str:
        """The phase table, slowest first, with each phase's share of the total."""
        totals = dict(self.totals)
        if startup is not None:
            totals["startup (python, imports)"] = startup
        total = sum(totals.values()) or 1.0
        width = max([len(name) for name in totals] + [5])
        lines = [f"{'phase':<{width}}  {'calls':>5}  {'seconds':>8}  share"]
        for name, seconds in sorted(totals.items(), key=lambda item: -item[1]):
            lines.append(f"{name:<{width}}  {self.counts.get(name, 1):>5}  {seconds:>8.3f}  {seconds / total:>5.1%}")
        lines.append(f"{'total':<{width}}  {'':>5}  {total:>8.3f}  100.0%")
        return "\n".join(lines) + "\n"


PHASES = Phases()


def phase(name: str) -> contextlib.AbstractContextManager[None]:
    """`with phase("trace"): ...` counts the block's wall time under `name` when profiling is on."""
    return PHASES.phase(name)


def process_age() -> float | None:
    """Seconds since this process started (Linux), for the startup row of the phase table."""
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            started_ticks = int(handle.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - started_ticks / os.sysconf("SC_CLK_TCK")

"""A progress bar on stderr for a person at a terminal (tqdm, an optional extra): models of a run, steps of a race."""
from __future__ import annotations

import os
import sys
from typing import Any

_CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "JENKINS_URL", "TF_BUILD", "CIRCLECI", "TRAVIS")


def progress_wanted(stream: Any = None) -> bool:
    """A bar only for a person at a terminal: not in pipes, files or CI logs."""
    stream = stream if stream is not None else sys.stderr
    if any(os.environ.get(name) for name in _CI_VARIABLES):
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """`total` steps of work, shown as a bar when `enabled` and tqdm is installed; otherwise it does nothing."""

    def __init__(self, total: int, enabled: bool, unit: str = "step", label: str = "archlint"):
        self.bar = None
        if enabled and total > 1:
            try:
                from tqdm import tqdm
            except ImportError:  # tqdm is an optional extra: no bar, no error
                return
            self.bar = tqdm(total=total, file=sys.stderr, unit=unit, desc=label, leave=False)

    def advance(self, label: str = "") -> None:
        if self.bar is not None:
            if label:
                self.bar.set_postfix_str(label[-40:], refresh=False)
            self.bar.update(1)

    def retotal(self, total: int) -> None:
        """Fewer steps than announced will run (what fits the budget)."""
        if self.bar is not None:
            self.bar.total = total
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Progress", "progress_wanted"]

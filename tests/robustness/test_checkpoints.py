"""Checkpoint targets (.pt/.pth) never unpickle arbitrary objects.

A checkpoint whose pickle would create a file when loaded with weights_only=False is given to
the archlint command. Whether or not the loader supports checkpoints, the file must not appear,
the answer is one line and exit code 2 (nothing lintable), and any torch.load call made must pass
weights_only=True.
"""
from __future__ import annotations

import pathlib
from pathlib import Path

import pytest
import torch

from bad_inputs import cli_outcome


class _Payload:
    """Unpickling this runs Path.touch(marker): the proof that arbitrary code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_checkpoint_with_code_in_its_pickle_is_never_executed(tmp_path: Path, suffix: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "code-ran"
    checkpoint = tmp_path / f"evil{suffix}"
    torch.save({"state": {"w": torch.zeros(2)}, "payload": _Payload(marker)}, checkpoint)
    calls: list[dict] = []
    real_load = torch.load

    def recording_load(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    outcome = cli_outcome(["check", str(checkpoint)], cwd=tmp_path)
    assert not marker.exists(), "archlint unpickled an arbitrary object from a checkpoint"
    assert all(call.get("weights_only") is True for call in calls), calls
    assert outcome.exit_code == 2 and not outcome.has_traceback, (outcome.exit_code, outcome.stderr)
    assert f"evil{suffix}" in "\n".join(outcome.shown), outcome.shown

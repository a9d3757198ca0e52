"""The same targets linted twice, and with -j 2, give byte-identical JSON and the same exit code."""
from __future__ import annotations

import json


from bad_inputs import cli_outcome

TARGETS = ["targets/mixed", "models/tied_weights.py", "models/train_mode_bn.py"]


def test_json_is_byte_identical_across_runs_and_jobs() -> None:
    first = cli_outcome(["check", "--format", "json", *TARGETS])
    second = cli_outcome(["check", "--format", "json", *TARGETS])
    parallel = cli_outcome(["check", "--format", "json", "-j", "2", *TARGETS])
    assert first.raised is None and first.exit_code == 2, (first.raised, first.stderr)   # the mixed dir has errors
    data = json.loads(first.stdout)
    linted = sorted(m["name"] for m in data["models"])
    assert linted == ["AlsoGood", "GoodNet", "TiedLM", "TrainModeNet"]
    assert second.stdout == first.stdout
    assert parallel.stdout == first.stdout
    assert first.exit_code == second.exit_code == parallel.exit_code

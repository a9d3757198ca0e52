"""Every bad input in the catalogue: the right exit code, one clear line, no traceback; and the docs table."""
from __future__ import annotations

import pytest

from bad_inputs import Case, outcome_of, selected_cases
import make_table


@pytest.mark.parametrize("case", selected_cases(), ids=lambda c: c.id)
def test_bad_input_gets_a_clear_answer(case: Case) -> None:
    outcome = outcome_of(case)
    assert not outcome.has_traceback, f"traceback shown for {case.id}:\n{outcome.stdout}\n{outcome.stderr}"
    if case.raises:
        assert outcome.raised is not None and outcome.raised.startswith(case.raises), outcome.raised
    else:
        assert outcome.raised is None, f"{case.how if hasattr(case, 'how') else case.id} raised {outcome.raised}"
        assert outcome.exit_code in case.exit_codes, (outcome.exit_code, outcome.shown, outcome.stderr)
    seen = "\n".join(outcome.shown)
    for word in case.mentions:
        assert word in seen, f"{case.id}: {word!r} not in what the user sees:\n{seen}"
    if outcome.exit_code == 2:
        errors = [line for line in outcome.shown if line.startswith(("error", "archlint: error"))]
        assert errors and all("\n" not in line and len(line) < 600 for line in errors), errors


def test_committed_table_is_up_to_date() -> None:
    expected = make_table.render()
    current = make_table.TABLE_PATH.read_text() if make_table.TABLE_PATH.exists() else ""
    assert current == expected, "docs/bad-inputs.md is stale: run python tests/robustness/make_table.py"

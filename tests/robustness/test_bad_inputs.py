"""Every bad input in the catalogue: the right exit code, one clear line, no traceback; and the docs table."""
from __future__ import annotations

import json

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
    if case.says:
        assert case.says in [_relative(line) for line in outcome.shown], \
            f"{case.id}: the exact line\n{case.says}\nis not among\n" + "\n".join(_relative(x) for x in outcome.shown)
    # "internal error" is kept for archlint's own bugs: no case in the catalogue is one
    assert "internal error" not in outcome.text, outcome.text
    if outcome.exit_code == 2:
        errors = [line for line in outcome.shown if line.startswith(("error", "archlint: error"))]
        assert errors and all("\n" not in line and len(line) < 600 for line in errors), errors


def _relative(line: str) -> str:
    """A line as the table shows it: paths below the repository made relative to it."""
    return line.replace(str(make_table.REPO) + "/", "").replace(str(make_table.REPO), ".")


def test_prints_from_the_users_forward_keep_the_json_report_parseable() -> None:
    outcome = outcome_of(next(c for c in selected_cases() if c.id == "prints-in-forward"))
    report = json.loads(outcome.stdout)
    assert [m["name"] for m in report["models"]] == ["Chatty"]
    assert "input torch.Size([2, 8])" in outcome.stderr   # the user's print is still shown, on stderr


def test_committed_table_is_up_to_date() -> None:
    expected = make_table.render()
    current = make_table.TABLE_PATH.read_text() if make_table.TABLE_PATH.exists() else ""
    assert current == expected, "docs/bad-inputs.md is stale: run python tests/robustness/make_table.py"

"""Recognition does not depend on the tracer: every rule's fixture models, traced by fx, fx with leaves and
torch.export, get the same findings; a graph of module calls (the hooks tracer) never gets a finding the others do
not, and the rules that read the operations between modules say they were not judged there."""
from __future__ import annotations


import pytest
import torch

import archlint
from rule_support import FIXTURES, fixture, fixture_verdicts
from archlint.trace import fallbacks, symbolic
from archlint.trace.result import TraceResult

TRACERS = {"fx": symbolic.fx_plain, "fx-leaves": symbolic.fx_leaves, "export": fallbacks.export_graph,
           "hooks": fallbacks.hooks_graph}


class ForcedTracer:
    """A plugin that traces with one built-in tracer (fx-leaves falls back to fx when no submodule fails)."""

    def __init__(self, tracer: str):
        self.tracer, self.__name__ = tracer, f"forced-{tracer}"

    @archlint.hookimpl
    def archlint_trace(self, model, example_inputs):
        gm, lost = TRACERS[self.tracer](model, example_inputs)
        return TraceResult(gm, self.tracer, lost)


def _cases() -> list[tuple[str, str]]:
    return [(path.stem, name) for path in sorted(FIXTURES.glob("*.py")) for name in fixture_verdicts(path.stem)]


def _lint(stem: str, name: str, tracer: str):
    module = fixture(stem)
    torch.manual_seed(0)
    report = archlint.check(getattr(module, name)(), module.example_inputs(), select=[stem.replace("_", "-")],
                            plugins=(ForcedTracer(tracer),))
    [linted] = report.models
    return linted


@pytest.mark.parametrize(("stem", "name"), _cases(), ids=lambda value: value)
def test_every_tracer_gets_the_same_findings(stem: str, name: str) -> None:
    rule = stem.replace("_", "-")
    reference = _lint(stem, name, "fx")
    found = {tracer: _lint(stem, name, tracer) for tracer in ("fx-leaves", "export", "hooks")}
    expected = sorted((f.code, f.module) for f in reference.findings)
    for tracer in ("fx-leaves", "export"):
        assert found[tracer].tracer in (tracer, "fx"), found[tracer].tracer    # fx-leaves: only when fx fails
        assert sorted((f.code, f.module) for f in found[tracer].findings) == expected, tracer
    hooks = found["hooks"]
    assert {f.code for f in hooks.findings} <= {f.code for f in reference.findings}   # never a new false alarm
    if type(archlint_rule(rule)).needs_operations and hooks.tracer == "hooks":
        assert hooks.findings == [] and any(n.text.startswith(f"not judged: {rule}") for n in hooks.notes)


def archlint_rule(name: str):
    from archlint.plugin.host import build_plugin_host

    return next(r for r in build_plugin_host().rules if r.name == name)

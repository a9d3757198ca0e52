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
        # and the same fixes run: an export graph records a layer's op, not the module call; the fix replaces the
        # module the op belongs to, and its after-numbers are the fx graph's
        assert _fixes(found[tracer]) == _fixes(reference), tracer
    hooks = found["hooks"]
    assert {f.code for f in hooks.findings} <= {f.code for f in reference.findings}   # never a new false alarm
    if type(archlint_rule(rule)).needs_operations and hooks.tracer == "hooks":
        assert hooks.findings == [] and any(n.text.startswith(f"not judged: {rule}") for n in hooks.notes)


def _fixes(linted) -> list[tuple]:
    return sorted((f.code, f.module, f.fix is not None and f.fix.verified,
                   tuple(m.after for m in f.effect)) for f in linted.findings)


def archlint_rule(name: str):
    from archlint.plugin.host import build_plugin_host

    return next(r for r in build_plugin_host().rules if r.name == name)


class _UncollapsedExport:
    """torch.export's graph as it comes (aten ops inside each module, no module calls), as for a model whose layer
    calls the export folding does not recognise."""

    __name__ = "uncollapsed-export"

    @archlint.hookimpl
    def archlint_trace(self, model, example_inputs):
        program = torch.export.export(model, tuple(example_inputs), strict=False)
        return TraceResult(program.module(), "export", [])


@pytest.mark.parametrize("stem", ["large_kernel", "missing_bottleneck", "dropout_placement"])
def test_a_layer_recorded_as_its_op_gets_the_fix_of_its_module(stem: str) -> None:
    """An op inside a torch.nn layer (aten conv inside nn.Conv2d) is that layer's work: the fix replaces the module,
    verifies, and measures the same after-numbers as on the fx graph."""
    module = fixture(stem)
    for name, verdict in fixture_verdicts(stem).items():
        if verdict != "bad":
            continue
        torch.manual_seed(0)
        report = archlint.check(getattr(module, name)(), module.example_inputs(), select=[stem.replace("_", "-")],
                                plugins=(_UncollapsedExport(),))
        [linted] = report.models
        assert linted.tracer == "export" and linted.findings, name
        reference = _lint(stem, name, "fx")
        assert _fixes(linted) == _fixes(reference), name
        assert all(f.fix.verified for f in linted.findings if f.fix.change is not None)

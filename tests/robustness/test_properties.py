"""Property-based tests on random small CNN/MLP stacks (kernels, strides, dilations, channels, skips, pools).

- the engine never crashes: every model is linted, no rule raises (no AL000), no target error;
- the reported parameter count is sum(p.numel()) over distinct parameters (shared convs counted once);
- the receptive field from the formula bounds the one measured by gradients, and equals it when
  no max pool routes the gradient to a single pixel;
- removing the shortcuts never shortens missing-residual's longest plain chain.

Examples are few and small (bounded, derandomized, no deadline) so the file runs in about a minute.
"""
from __future__ import annotations

import copy

import torch
from hypothesis import HealthCheck, assume, given, settings
from torch import nn

import archlint
from archlint.analysis.graph import build_graph
from archlint.trace.tracers import trace_model
from random_models import StackSpec, build, example_input, fits, stack_specs, unique_parameter_count, \
    without_shortcuts

PROPERTY = settings(max_examples=20, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _real_errors(report: archlint.Report) -> list[str]:
    return [str(e) for e in report.errors]


@PROPERTY
@given(stack_specs)
def test_engine_never_crashes_and_counts_parameters_once(spec: StackSpec) -> None:
    assume(fits(spec))
    model = build(spec)
    report = archlint.check(model, example_input(spec))
    assert not _real_errors(report), _real_errors(report)
    assert len(report.models) == 1
    crashed = [f.message for f in report.findings if f.code == "AL000"]
    assert not crashed, crashed
    assert report.models[0].parameters == unique_parameter_count(model)


# -- receptive field: formula vs gradient ------------------------------------------------------------

def _gradient_extent(model: nn.Module, spec: StackSpec) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Input rows/cols whose gradient is nonzero for the centre output pixel, and that pixel.

    On a float64 copy with all conv weights positive and biases zero, fed an all-ones input, every
    activation is positive, so each ReLU passes the gradient and no contribution cancels: the
    nonzero gradient covers exactly the pixels the output can depend on (through max pools, only
    the argmax of each window).
    """
    probe = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for module in probe.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.uniform_(0.5, 1.0, generator=torch.Generator().manual_seed(1))
                module.bias.zero_()
    x = torch.ones(1, spec.in_channels, spec.size, spec.size, dtype=torch.float64, requires_grad=True)
    out = probe.features(x)
    centre = (out.shape[-2] // 2, out.shape[-1] // 2)
    out[0, :, centre[0], centre[1]].sum().backward()
    grad = x.grad[0].abs().sum(0)
    rows = torch.nonzero(grad.amax(1) > 0).flatten()
    cols = torch.nonzero(grad.amax(0) > 0).flatten()
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max())), centre


@PROPERTY
@given(stack_specs)
def test_formula_receptive_field_bounds_the_measured_one(spec: StackSpec) -> None:
    from archlint.analysis import receptive_field as rf_module
    assume(fits(spec))
    spec = StackSpec(spec.in_channels, spec.size, spec.convs, "none", ())   # the feature map is the output
    model = build(spec)
    traced = trace_model(model, (example_input(spec),))
    graph = build_graph(traced.graph_module, model)
    last = graph.predecessors(graph.output())[0]
    rfs = rf_module.compute_receptive_fields(graph)
    measured_rows, measured_cols, centre = _gradient_extent(model, spec)
    formula_rows = rfs[last.name].axes[-2].interval(centre[0])
    formula_cols = rfs[last.name].axes[-1].interval(centre[1])
    for formula, measured in ((formula_rows, measured_rows), (formula_cols, measured_cols)):
        assert formula[0] <= measured[0] and measured[1] <= formula[1], (formula, measured)
        if not spec.has_max_pool and not spec.has_holes:
            assert formula == measured


# -- missing-residual: a shortcut can only shorten the plain chain --------------------------------------

def _chain_length(spec: StackSpec) -> int:
    from archlint_rules import missing_residual as rule_module
    longest = rule_module.longest_unbypassed_chain      # the chain the AL401 finding reports
    model = build(spec)
    traced = trace_model(model, (example_input(spec),))
    return len(longest(build_graph(traced.graph_module, model)))


@PROPERTY
@given(stack_specs)
def test_removing_a_shortcut_never_shortens_the_plain_chain(spec: StackSpec) -> None:
    assume(fits(spec) and any(c.skip for c in spec.convs))
    assert _chain_length(without_shortcuts(spec)) >= _chain_length(spec)

"""receptive-field (AL201) and archlint.analysis.receptive_field.

Expected receptive fields are computed by hand (in the comments) and checked against an independent
gradient computation written here: with all-ones weights, no activations and average pooling every
input pixel in the receptive field contributes a strictly positive gradient, so the nonzero extent of
the input gradient IS the receptive field.
"""
from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import archlint
from archlint.analysis.graph import build_graph
from archlint.analysis.receptive_field import (
    compute_receptive_fields, format_rf_table, input_positions, last_spatial_node, rf_table,
)
from archlint_rules.receptive_field import ReceptiveField
from archlint.trace.tracers import trace_model

from rule_support import lint_report, run_on_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import receptive_field_bad  # noqa: E402
import receptive_field_fixed  # noqa: E402


# -- independent measurement ---------------------------------------------------------------------

def gradient_extent(run, x: torch.Tensor, position: dict[int, int] | None = None) -> list[tuple[int, int]]:
    """[first, last] input index with nonzero gradient, per spatial axis, for one output position
    (`position`: negative output dim -> index; default: the centre of an N, C, *spatial output)."""
    x = x.detach().double().clone().requires_grad_(True)
    out = run(x)
    pos = position or {d - out.dim(): out.shape[d] // 2 for d in range(2, out.dim())}
    index: list = [slice(None)] * out.dim()
    index[0] = 0
    for d, p in pos.items():
        index[d] = p
    out[tuple(index)].sum().backward()
    grad = x.grad[0].abs().sum(0)
    extents = []
    for axis in range(grad.dim()):
        others = [a for a in range(grad.dim()) if a != axis]
        nz = torch.nonzero((grad.amax(dim=others) if others else grad) > 0).flatten()
        extents.append((int(nz.min()), int(nz.max())))
    return extents


def ones_model(model: nn.Module) -> nn.Module:
    model = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0)
    return model


def last_rf(model: nn.Module, x: torch.Tensor) -> list[int]:
    return rf_table(model, x)[-1]["rf"]


class Chain(nn.Module):
    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class FunctionalPools(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 1, 3)
        self.b = nn.Conv2d(1, 1, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(self.a(x), 2)                        # 3 -> 4, jump 2
        x = self.b(x)                                         # 4 + 2*2 = 8
        x = F.avg_pool2d(x, 3, 2)                             # 8 + 2*2 = 12, jump 4
        return F.avg_pool2d(x, kernel_size=2)                 # 12 + 1*4 = 16, jump 8


CHAINS = {
    # name: (model, input shape, hand-computed RF per axis, jump per axis)
    "dilation": (Chain(nn.Conv2d(1, 1, 3, dilation=2), nn.Conv2d(1, 1, 3, dilation=4)),
                 (1, 1, 40, 40), [13, 13], [1, 1]),                     # 1+2*2=5, 5+2*4=13
    "stride": (Chain(nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.Conv2d(1, 1, 3, padding=1),
                     nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.Conv2d(1, 1, 3, padding=1)),
               (1, 1, 64, 64), [19, 19], [4, 4]),                       # 3, 3+2*2=7, 7+2*2=11, 11+2*4=19
    "pooling": (Chain(nn.Conv2d(1, 1, 3), nn.AvgPool2d(2), nn.Conv2d(1, 1, 3), nn.AvgPool2d(3, 2)),
                (1, 1, 64, 64), [12, 12], [4, 4]),                      # 3, 4 (j2), 8, 8+2*2=12 (j4)
    "functional-pools": (FunctionalPools(), (1, 1, 96, 96), [16, 16], [8, 8]),
    "transposed": (Chain(nn.Conv2d(1, 1, 3, stride=2, padding=1),
                         nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1), nn.Conv2d(1, 1, 3)),
                   (1, 1, 32, 32), [7, 7], [1, 1]),                     # 3 (j2), 3+(2/2)*2=5 (j1), 5+2=7
    "1d": (Chain(nn.Conv1d(1, 1, 5), nn.AvgPool1d(3, stride=2), nn.Conv1d(1, 1, 3, dilation=2)),
           (1, 1, 64), [15], [2]),                                      # 5, 5+2=7 (j2), 7+2*2*2=15
    "3d": (Chain(nn.Conv3d(1, 1, (3, 5, 1)), nn.Conv3d(1, 1, 3, stride=(1, 2, 2)), nn.Conv3d(1, 1, 3)),
           (1, 1, 24, 32, 32), [7, 11, 7], [1, 2, 2]),                  # (3,5,1) -> (5,7,3) -> (7,11,7)
    "non-square": (Chain(nn.Conv2d(1, 1, (1, 7)), nn.Conv2d(1, 1, (7, 1)), nn.Conv2d(1, 1, (3, 5), stride=(2, 1)),
                         nn.Conv2d(1, 1, 3)),
                   (1, 1, 48, 40), [13, 13], [2, 1]),                   # (1,7),(7,7),(9,11) j(2,1),(13,13)
}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_formula_matches_hand_computed_and_gradient(name: str) -> None:
    model, shape, expected_rf, expected_jump = CHAINS[name]
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    row = rf_table(model.eval(), x)[-1]
    assert row["rf"] == expected_rf
    assert row["jump"] == expected_jump
    extents = gradient_extent(ones_model(model), x)
    assert [hi - lo + 1 for lo, hi in extents] == expected_rf


def test_transposed_conv_with_uneven_kernel_is_an_upper_bound() -> None:
    # k=4, s=2 spreads (k-1)/s = 1.5 input steps; the true footprint is 1 step (5 px), the bound rounds up to 6.
    model = Chain(nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.ConvTranspose2d(1, 1, 4, stride=2, padding=1))
    x = torch.randn(1, 1, 32, 32)
    extents = gradient_extent(ones_model(model), x)
    measured = [hi - lo + 1 for lo, hi in extents]
    assert measured == [5, 5]
    assert last_rf(model, x) == [6, 6]


class TwoBranch(nn.Module):
    """Branch a: two 3x3 (RF 5); branch b: one 7x7 (RF 7). Their sum and concatenation see 7x7."""

    def __init__(self):
        super().__init__()
        self.a1, self.a2 = nn.Conv2d(1, 2, 3, padding=1), nn.Conv2d(2, 2, 3, padding=1)
        self.b = nn.Conv2d(1, 2, 7, padding=3)
        self.head = nn.Conv2d(4, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.a2(self.a1(x)), self.b(x)
        return self.head(torch.cat([a + b, a], dim=1))


def test_branches_take_the_maximum_over_paths() -> None:
    x = torch.randn(1, 1, 32, 32)
    table = {r["node"]: r["rf"] for r in rf_table(TwoBranch().eval(), x)}
    assert table["a2"] == [5, 5] and table["b"] == [7, 7]
    assert table["add"] == [7, 7] and table["cat"] == [7, 7] and table["head"] == [7, 7]
    extents = gradient_extent(ones_model(TwoBranch()), x)
    assert [hi - lo + 1 for lo, hi in extents] == [7, 7]


def test_format_rf_table_lists_every_spatial_node() -> None:
    text = format_rf_table(rf_table(TwoBranch().eval(), torch.randn(1, 1, 16, 16)))
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["node", "module", "kind", "RF"]
    assert any(line.startswith("cat ") and "7×7" in line for line in lines)


# -- the rule on the examples ----------------------------------------------------------------------

def _finding(model: nn.Module, inputs: tuple[torch.Tensor, ...]):
    return lint_report(model, inputs, rule="receptive-field", plots=True).models[0]


def test_bad_example_is_flagged_with_the_right_numbers() -> None:
    model = receptive_field_bad.build().eval()
    inputs = receptive_field_bad.example_inputs()
    before = copy.deepcopy(model.state_dict())
    result = _finding(model, inputs)
    (finding,) = result.findings
    # by hand: 3, 5, pool 6 (j2), 10, 14, pool 16 (j4), 24
    assert "24×24 px on a 128×128 input: 19%" in finding.message and "(64 px)" in finding.message
    metrics = {(m.name, m.method.split(";")[0]): m for m in finding.effect}
    formula = [m for m in finding.effect if m.name == "receptive field (formula)"]
    # 3x3 layers at jump 4 add 8 px each: ceil((64 - 24) / 8) = 5
    needed = math.ceil((64 - 24) / 8)
    assert f"add {needed} 3×3 conv layers" in finding.fix.summary
    assert formula[0].before == "24×24" and formula[0].after == "64×64"
    coverage = next(m for m in finding.effect if m.name.startswith("coverage"))
    assert coverage.before == round(24 / 128, 3) and coverage.after == round(64 / 128, 3)
    assert f"range({needed})" in finding.fix.snippet and "nn.Conv2d(128, 128, kernel_size=3" in finding.fix.snippet

    # empirical RF: independent gradient of the centre of features.6 (32x32 map) on the model's own weights
    copy_ = copy.deepcopy(model).double().eval()
    extents = gradient_extent(lambda x: copy_.features(x), inputs[0][:1])
    empirical = next(m for m in finding.effect if m.name.startswith("empirical"))
    assert empirical.before == "×".join(str(hi - lo + 1) for lo, hi in extents)
    assert metrics  # every metric has a method
    assert all(m.method for m in finding.effect)

    # the model was not touched
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert next(model.parameters()).dtype == torch.float32 and not model.training
    assert result.plots.receptive_fields[-1]["rf"] == [24, 24]


def test_suggested_changes_are_the_smallest_that_reach_the_target() -> None:
    model = receptive_field_bad.build().eval()
    x = receptive_field_bad.example_inputs()[0]
    (finding,) = _finding(model, (x,)).findings

    def with_extra(n: int) -> list[int]:
        extended = copy.deepcopy(model)
        extended.features.append(nn.Sequential(*[receptive_field_bad.conv_block(128, 128) for _ in range(n)]))
        return last_rf(extended, x)

    assert with_extra(5) == [64, 64] and with_extra(4)[0] < 64

    def with_dilation(d: int) -> list[int]:
        dilated = copy.deepcopy(model)
        dilated.features[6][0] = nn.Conv2d(64, 128, 3, padding=d, dilation=d, bias=False)
        return last_rf(dilated, x)

    assert "dilation 6×6 in `features.6.0`" in finding.fix.summary
    assert with_dilation(6) == [64, 64] and with_dilation(5)[0] < 64
    assert "dilation=(6, 6)" in finding.fix.snippet and "model.features[6][0] = nn.Conv2d(64, 128" in finding.fix.snippet


def test_fixed_example_is_clean_and_covers_the_input() -> None:
    model = receptive_field_fixed.build().eval()
    x = receptive_field_fixed.example_inputs()[0]
    result = _finding(model, (x,))
    assert result.findings == []
    assert result.plots.receptive_fields[-1]["rf"] == [133, 133]
    # measured on the model's own weights: max pooling passes gradient to one pixel per window, so the
    # measured field is somewhat smaller than the formula's 133 (clipped to 128), but above the 64 px target
    work = copy.deepcopy(model).double().eval()
    extents = gradient_extent(work.features, x[:1])
    assert all(64 <= hi - lo + 1 <= 128 for lo, hi in extents)


def test_min_coverage_option_changes_the_verdict() -> None:
    model = receptive_field_bad.build().eval()
    inputs = receptive_field_bad.example_inputs()
    report = archlint.check(model, inputs, select=["AL201"], rule_options={"receptive-field": {"min_coverage": 0.15}})
    assert report.models[0].findings == []   # 24 px >= 0.15 * 128 = 19.2


def test_meta_model_says_what_was_not_measured() -> None:
    with torch.device("meta"):
        model = receptive_field_bad.build().eval()
    report = archlint.check(model, torch.empty(2, 3, 128, 128, device="meta"), select=["AL201"])
    (finding,) = report.models[0].findings
    assert "24×24" in finding.message
    assert not any(m.name.startswith("empirical") for m in finding.effect)
    assert any("empirical receptive field not measured" in u and "meta" in u for u in finding.unmeasured)


def test_an_empirical_pass_past_the_memory_budget_is_not_run_and_says_so(monkeypatch) -> None:
    """The float64 pass keeps every activation and its gradient: estimated from the traced shapes first (an
    ESRGAN generator at 224 px needed tens of GiB and was killed)."""
    monkeypatch.setenv("ARCHLINT_MEMORY_BUDGET", "1MiB")
    model = receptive_field_bad.build().eval()
    report = archlint.check(model, receptive_field_bad.example_inputs(), select=["AL201"])
    (finding,) = report.models[0].findings
    assert "24×24" in finding.message and not any(m.name.startswith("empirical") for m in finding.effect)
    assert any("float64 backward pass would need about" in u and "ARCHLINT_MEMORY_BUDGET" in u
               for u in finding.unmeasured), finding.unmeasured


def test_an_empirical_pass_past_the_time_a_lint_gives_it_is_not_run_and_says_so(monkeypatch) -> None:
    """Its float64 forward and backward cost about three times the model's multiply-accumulates: an ASPP head on
    2048 channels at 224 px (753 G) took a minute, so past the limit it is said, with the count, not run."""
    from archlint.analysis import shared

    monkeypatch.setattr(shared, "RF_MOST_MACS", 1_000_000)
    model = receptive_field_bad.build().eval()
    report = archlint.check(model, receptive_field_bad.example_inputs(), select=["AL201"])
    (finding,) = report.models[0].findings
    assert not any(m.name.startswith("empirical") for m in finding.effect)
    assert any("G multiply-accumulates (the layers' count at this input, one sample), past the 0 G a lint gives it"
               in u for u in finding.unmeasured), finding.unmeasured


def test_models_without_spatial_layers_or_with_token_mixing_are_not_flagged() -> None:
    mlp = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
    assert _finding(mlp, (torch.randn(2, 8),)).findings == []

    class PatchAttention(nn.Module):   # 16x16 patch stem (RF 16 of 128), then global attention over tokens
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv2d(3, 32, 16, stride=16)
            self.attn = nn.MultiheadAttention(32, 4, batch_first=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            tokens = self.stem(x).flatten(2).transpose(1, 2)
            return self.attn(tokens, tokens, tokens)[0].mean(1)

    assert _finding(PatchAttention().eval(), (torch.randn(2, 3, 128, 128),)).findings == []


# -- torchvision ----------------------------------------------------------------------------------

LEGIT_AT_224 = ["resnet18", "resnet50", "densenet121", "mobilenet_v2", "efficientnet_b0", "convnext_tiny",
                "regnet_y_400mf", "inception_v3", "vgg16", "googlenet"]


@pytest.mark.slow
@pytest.mark.parametrize("name", LEGIT_AT_224)
def test_torchvision_models_are_not_flagged(name: str, zoo, traced, zoo_input) -> None:
    model = zoo(name)
    _, graph = traced(name)
    assert run_on_graph(ReceptiveField, model, graph, (zoo_input(name),), name=name) == []
    rfs = compute_receptive_fields(graph)
    state = rfs[last_spatial_node(graph, rfs).name]
    size = zoo_input(name).shape[-1]
    assert all(a.rf >= size / 2 for a in state.axes.values())


BOUND_MODELS = ["resnet18", "densenet121", "mobilenet_v2", "efficientnet_b0", "convnext_tiny", "regnet_x_400mf",
                "inception_v3", "googlenet", "shufflenet_v2_x0_5", "squeezenet1_0", "mnasnet0_5", "alexnet"]


class _Reached(Exception):
    """Raised by a forward hook to stop the forward pass once the probed module has run."""


def _probe_nodes(graph, rfs) -> list:
    """The deepest module node whose field is still inside the input (so the bound is not trivially the
    whole image) and the last spatial map."""
    rows = [n for n in graph.nodes() if n.name in rfs and rfs[n.name].axes and n.op == "call_module"
            and len(graph.by_module(n.module_path)) == 1]
    inside = [n for n in rows if all(a.rf < a.input_size for a in rfs[n.name].axes.values())]
    chosen = {inside[-1].name: inside[-1]}
    last = last_spatial_node(graph, rfs)
    if last.op == "call_module" and len(graph.by_module(last.module_path)) == 1:
        chosen[last.name] = last
    return list(chosen.values())


@pytest.mark.slow
@pytest.mark.parametrize("name", BOUND_MODELS)
def test_formula_bounds_the_empirical_receptive_field(name: str, zoo) -> None:
    """On the model's own (random) weights, every input pixel with a nonzero gradient lies inside the
    formula's interval for that output position (clipped to the input), per axis."""
    size = 160 if name.startswith("inception") else 112
    x = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1))
    model = zoo(name)
    graph = build_graph(trace_model(model, (x,)).graph_module, model)
    rfs = compute_receptive_fields(graph)
    work = copy.deepcopy(model).double().eval()
    for node in _probe_nodes(graph, rfs):
        captured = {}

        def stop_after(module, inputs, output):
            captured["out"] = output
            raise _Reached  # the rest of the network is not needed for this gradient

        hook = work.get_submodule(node.module_path).register_forward_hook(stop_after)
        try:
            def run(inp):
                try:
                    work(inp)
                except _Reached:
                    pass
                return captured["out"]

            state = rfs[node.name]
            position = {d: node.out_shape[d] // 2 for d in state.axes}
            extents = gradient_extent(run, x, position)
        finally:
            hook.remove()
        for (lo, hi), d in zip(extents, sorted(state.axes)):
            bound_lo, bound_hi = state.bound(d, position[d])
            assert bound_lo <= lo and hi <= bound_hi, (name, node.name, d, (lo, hi), (bound_lo, bound_hi))
            if not state.global_context:
                # not a vacuous bound: the measured field fills at least half of the formula's interval
                assert hi - lo + 1 >= (bound_hi - bound_lo + 1) / 2, (name, node.name)


class ChannelsLastMixer(nn.Module):
    """A 4×4 patchify stem, then per-position MLPs on a channels-last map (N, H, W, C), as Swin/ConvNeXt-style
    code writes it, then global mean: every output position sees only its own 4×4 patch."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 4, stride=4)
        self.mlp = nn.Sequential(nn.LayerNorm(16), nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x).permute(0, 2, 3, 1)          # N, H, W, C
        x = x + self.mlp(x)
        return self.head(x.mean(dim=(1, 2)))


def test_channels_last_map_is_measured_not_a_crash() -> None:
    """Swin's layout: the last map has its spatial axes at -3, -2, the image at -2, -1."""
    torch.manual_seed(0)
    result = _finding(ChannelsLastMixer().eval(), (torch.randn(2, 3, 64, 64),))
    (finding,) = result.findings
    empirical = next(m for m in finding.effect if m.name.startswith("empirical"))
    assert empirical.before == "4×4"   # each position reads its own patch: formula and measurement agree
    assert "is 4×4 px on a 64×64 input" in finding.message


class SeriesChannelsLast(nn.Module):
    """A forecaster's layout: 40 time steps of 6 variables (B, L, C), moved to (B, C, L) for two convolutions
    (kernels 3 and 5: a field of 7 steps) and back for a Linear over the channels."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Conv1d(6, 16, 3, padding=1)
        self.mix = nn.Conv1d(16, 16, 5, padding=2)
        self.head = nn.Linear(16, 6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mix(torch.relu(self.embed(x.permute(0, 2, 1))))
        return self.head(y.transpose(1, 2))


def test_a_series_given_channels_last_is_measured_along_its_time_axis() -> None:
    torch.manual_seed(0)
    model = SeriesChannelsLast().eval()
    x = torch.randn(2, 40, 6)
    graph = build_graph(trace_model(model, (x,)).graph_module, model)
    [series] = graph.inputs()
    assert input_positions(graph, series) == (-2,)   # the time axis reaches the convs' positions, not the variables
    last = last_spatial_node(graph, compute_receptive_fields(graph))
    assert last is not None and last.name == "head"
    result = _finding(model, (x,))
    (finding,) = result.findings
    assert "is 7 px on a 40 input" in finding.message and "along length" in finding.message, finding.message
    empirical = next(m for m in finding.effect if m.name.startswith("empirical"))
    # independent: the gradient of one output step reaches 7 input steps along time (axis 1 of the input)
    x64 = x.double().requires_grad_(True)
    ones_model(model)(x64)[0, 20].sum().backward()
    steps = torch.nonzero(x64.grad[0].abs().sum(1)).flatten()
    assert empirical.before == "7" == str(int(steps.max() - steps.min() + 1))
    # the dilation the fix proposes is on the time axis of `mix`, and its snippet moves the channels for new convs
    # (kernel 5 at dilation 5: 3 + 4·5 = 23 ≥ 20 steps; dilation 4 would give 19)
    assert "dilation 5 in `mix`" in finding.fix.summary and "x.movedim(2, 1)" in finding.fix.snippet


class PaddedMovingAverage(nn.Module):
    """A decomposition forecaster's layout: 48 steps of 5 variables (B, L, C), padded at both ends by repeating
    the first and last step (a concatenation along time, not a reshape), moved to (B, C, L) for a moving average
    of 9 steps, and mapped to the 12-step forecast by a Linear over the whole window."""

    def __init__(self) -> None:
        super().__init__()
        self.average = nn.AvgPool1d(9, stride=1)
        self.forecast = nn.Linear(48, 12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        padded = torch.cat([x[:, :1, :].repeat(1, 4, 1), x, x[:, -1:, :].repeat(1, 4, 1)], dim=1)
        trend = self.average(padded.permute(0, 2, 1))
        seasonal = x.permute(0, 2, 1) - trend
        return self.forecast(seasonal + trend).permute(0, 2, 1)


def test_a_series_padded_before_its_moving_average_keeps_its_time_axis() -> None:
    # the padding changes the series' length, not the place of its axes: the moving average slides along time;
    # read as channels first, the 5 variables were the "positions" and a field of 1 of 5 was reported
    torch.manual_seed(0)
    model = PaddedMovingAverage().eval()
    x = torch.randn(2, 48, 5)
    graph = build_graph(trace_model(model, (x,)).graph_module, model)
    [series] = graph.inputs()
    assert input_positions(graph, series) == (-2,)
    report = lint_report(model, (x,), rule="receptive-field")
    assert report.models[0].findings == []   # the forecast's Linear reads all 48 steps: the field is the window
    assert "receptive-field" in report.models[0].rules_run


class GlobalGate(nn.Module):
    """A 3×3 conv whose map is gated by a whole-image statistic: the formula's field is 3×3 (plus a global
    gate), the measured field is the whole image. The measurement decides."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.mix = nn.Conv2d(8, 8, 1)
        self.head = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        y = y + self.mix(y.mean(dim=(2, 3), keepdim=True))  # every position gets the image mean
        return self.head(torch.relu(y).mean(dim=(2, 3)))


def test_measured_field_covering_the_input_keeps_the_rule_silent() -> None:
    torch.manual_seed(0)
    model = GlobalGate().eval()
    x = torch.randn(2, 3, 32, 32)
    report = lint_report(model, (x,), rule="receptive-field")
    assert report.models[0].findings == []
    # the same model on the meta device cannot be measured: the static suspicion stands, marked so
    with torch.device("meta"):
        meta = GlobalGate()
    (finding,) = lint_report(meta, (torch.empty(2, 3, 32, 32, device="meta"),), rule="receptive-field").models[0].findings
    assert any("empirical receptive field not measured" in u for u in finding.unmeasured)


# -- positions mixed after the last map: attention functions and token-mixing MLPs (issue 12) -----------------

@torch.fx.wrap
def window_attention(x: torch.Tensor, qkv: torch.Tensor) -> torch.Tensor:
    """Attention over every position of a channels-last map, wrapped as one fx node (as torchvision's
    shifted_window_attention is)."""
    n, h, w, c = x.shape
    q, k, v = F.linear(x.reshape(n, h * w, c), qkv).chunk(3, dim=-1)
    return F.softmax(q @ k.transpose(1, 2) / math.sqrt(c), dim=-1).matmul(v).reshape(n, h, w, c)


class PatchThenAttend(nn.Module):
    """A 4×4 patchify stem, then attention on the channels-last map (Swin-like)."""

    def __init__(self, attend: bool = True) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 4, stride=4)
        self.qkv = nn.Parameter(torch.randn(48, 16) * 0.1)
        self.attend = attend
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x).permute(0, 2, 3, 1)
        if self.attend:
            x = x + window_attention(x, self.qkv)
        return self.head(x.mean((1, 2)))


class TokenMixer(nn.Module):
    """A 16×16 patchify stem, then an MLP across the 16 tokens (MLP-Mixer's token mixing)."""

    def __init__(self, mix_tokens: bool = True) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 16, stride=16)
        self.mix = nn.Linear(16, 16) if mix_tokens else nn.Linear(32, 32)
        self.mix_tokens = mix_tokens
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.stem(x).flatten(2).transpose(1, 2)            # (N, 16 positions, 32 channels)
        if self.mix_tokens:
            tokens = tokens + self.mix(tokens.transpose(1, 2)).transpose(1, 2)
        else:
            tokens = tokens + self.mix(tokens)                       # per-token MLP: positions stay apart
        return self.head(tokens.mean(1))


@pytest.mark.parametrize("model", [PatchThenAttend(), TokenMixer()], ids=["attention-function", "token-mixing-mlp"])
def test_positions_mixed_after_the_last_map_give_a_global_field(model: nn.Module) -> None:
    report = lint_report(model.eval(), torch.randn(2, 3, 64, 64), rule="receptive-field")
    assert report.models[0].findings == [] and "receptive-field" in report.models[0].rules_run


@pytest.mark.parametrize("model", [PatchThenAttend(attend=False), TokenMixer(mix_tokens=False)],
                         ids=["no-attention", "per-token-mlp"])
def test_the_same_stems_without_mixing_are_still_flagged(model: nn.Module) -> None:
    report = lint_report(model.eval(), torch.randn(2, 3, 64, 64), rule="receptive-field")
    assert [(f.code, f.module) for f in report.models[0].findings] == [("AL201", "stem")]


class _OpaqueMixer(nn.Module):
    """Mixes every position, behind a branch on a value: fx keeps it as one opaque leaf (MViTv2's blocks)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.flatten(2).transpose(1, 2)                 # (N, positions, C), as MViT's blocks take them
        if tokens.abs().sum() > 0:
            return tokens + tokens.mean(1, keepdim=True)
        return tokens


class PatchThenOpaque(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 4, stride=4)
        self.block = _OpaqueMixer()
        self.head = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.stem(x)).mean(1))


def test_an_opaque_block_after_the_last_map_is_unknown_not_local() -> None:
    report = lint_report(PatchThenOpaque().eval(), torch.randn(2, 3, 64, 64), rule="receptive-field")
    assert report.models[0].tracer == "fx-leaves" and report.models[0].findings == []


class SplitPaths(nn.Module):
    """ResNeSt-like: a grouped 3×3 conv makes `radix` paths, reshaped to (N, radix, C, H, W) and summed over
    the radix axis (a rank change that keeps H, W), then a 5×5 conv; a 1×1 shortcut is added at the end."""

    def __init__(self, radix: int = 2, channels: int = 2):
        super().__init__()
        self.radix = radix
        self.split = nn.Conv2d(channels, channels * radix, 3, padding=1, groups=radix)
        self.after = nn.Conv2d(channels, channels, 5, padding=2)
        self.shortcut = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        paths = self.split(x).reshape(n, self.radix, c, h, w).sum(dim=1)
        return self.after(paths) + self.shortcut(x)


def test_a_sum_over_a_leading_axis_keeps_the_field() -> None:
    x = torch.randn(1, 2, 24, 24)
    model = SplitPaths().eval()
    assert last_rf(model, x) == [7, 7]                                # 3, then 3 + 4 = 7; the 1×1 shortcut adds 1
    assert [hi - lo + 1 for lo, hi in gradient_extent(ones_model(model), x)] == [7, 7]


class SpaceToDepthStem(nn.Module):
    """TResNet-like: the stem folds each 4×4 block of pixels into channels with view/permute/view, then convs."""

    def __init__(self, block: int = 4):
        super().__init__()
        self.block = block
        self.conv = nn.Conv2d(block * block, 1, 3, padding=1)
        self.conv2 = nn.Conv2d(1, 1, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        b = self.block
        x = x.view(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4).contiguous()
        x = x.view(n, c * b * b, h // b, w // b)
        return self.conv2(self.conv(x))


def test_space_to_depth_is_a_patch_not_the_end_of_the_map() -> None:
    x = torch.randn(1, 1, 32, 32)
    model = SpaceToDepthStem().eval()
    rows = rf_table(model, x)
    assert rows[-1]["node"] == "conv2" and rows[-1]["jump"] == [4, 4]
    assert rows[-1]["rf"] == [20, 20]                                 # a 4-px patch, then 3×3 twice at jump 4
    assert [hi - lo + 1 for lo, hi in gradient_extent(ones_model(model), x)] == [20, 20]


class ZeroScaledAttentionBranch(nn.Module):
    """HaloNet-like at small scale: a patchify stem, a residual branch of attention over all positions whose
    layer scale starts at 0, then a 3×3 conv as the last map. The formula follows only the shortcut."""

    def __init__(self, width: int = 16):
        super().__init__()
        self.stem = nn.Conv2d(3, width, 4, stride=4)
        self.qkv = nn.Linear(width, 3 * width)
        self.scale = nn.Parameter(torch.zeros(width))
        self.last = nn.Conv2d(width, width, 3, padding=1)
        self.head = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        n, c, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(tokens).chunk(3, dim=-1)
        mixed = torch.softmax(q @ k.transpose(1, 2), dim=-1) @ v
        x = x + (self.scale * mixed).transpose(1, 2).reshape(n, c, h, w)
        return self.head(self.last(x).mean((2, 3)))


def test_a_zero_initialised_branch_counts_in_the_measured_field() -> None:
    model = ZeroScaledAttentionBranch().eval()
    x = torch.randn(2, 3, 32, 32)
    assert rf_table(model, x)[-1]["rf"] == [12, 12]                   # shortcut path only: 4 + 2·4
    assert lint_report(model, x, rule="receptive-field").models[0].findings == []   # attention mixes all 8×8
    # the field of the architecture, not of this initialisation: without the waking the scale of 0 hides it
    from archlint.analysis import receptive_field as rf

    original = rf.wake_zero_parameters
    try:
        rf.wake_zero_parameters = lambda model: 0
        [finding] = lint_report(model, x, rule="receptive-field").models[0].findings
        assert any(m.name.startswith("empirical") and m.before == "12×12" for m in finding.effect)
    finally:
        rf.wake_zero_parameters = original


class _PooledBySize(nn.Module):
    """A CIFAR ResNet's head: `F.avg_pool2d(out, out.size()[3])`, a window computed from the input at run time."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        out = self.features(x)
        out = torch.nn.functional.avg_pool2d(out, out.size()[3])
        return self.fc(out.view(out.size(0), -1))


def test_a_pooling_window_computed_at_run_time_is_an_unknown_window_not_a_crash() -> None:
    report = archlint.check(_PooledBySize(), torch.randn(2, 3, 64, 64), select=["AL201"])
    (finding,) = report.models[0].findings
    assert finding.code == "AL201" and "5×5" in finding.message, finding.message

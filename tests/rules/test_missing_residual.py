"""missing-residual: chain lengths on torchvision graphs, measured ratios vs an independent rewrite + backward."""
from __future__ import annotations

import copy

import pytest
import torch

import archlint
from archlint.analysis import fixes
from archlint.analysis.rewrite import add_identity_shortcuts
from archlint.plugin.changes import AddShortcuts
from archlint.trace.tracers import trace_model
from archlint.analysis.graph import build_graph
from archlint_rules.missing_residual import longest_unbypassed_chain, shortcut_spans

from rule_support import example as load_example, lint, lint_report




@pytest.mark.parametrize("name,flagged", [
    ("vgg16", True), ("resnet50", False), ("densenet121", False), ("mobilenet_v2", False),
    ("mobilenet_v3_small", False), ("efficientnet_b0", False), ("vit_b_16", False),
])
def test_chain_length_on_torchvision(traced, name: str, flagged: bool) -> None:
    _, graph = traced(name)
    chain = longest_unbypassed_chain(graph)
    if name == "vgg16":
        assert len(chain) == 16 and chain[0].module_path == "features.0" and chain[-1].module_path == "classifier.6"
    assert (len(chain) > 10) is flagged, [n.module_path for n in chain]


def _grad_tap(store: dict, key: str):
    """A forward hook that keeps ∂L/∂(module output) in store[key] (and leaves the output unchanged)."""
    def hook(module, inputs, output) -> None:
        output.register_hook(lambda grad: store.__setitem__(key, grad))
    return hook


def _rms(t: torch.Tensor) -> float:
    return float(t.double().pow(2).mean().sqrt())


def _output_signal(model: torch.nn.Module, inputs, first: torch.nn.Module, forward=None) -> tuple[float, float]:
    """(RMS of ∂L/∂ output of `first`, RMS of ∂L/∂ model output): train mode, seed 0, loss Σ out ⊙ R (R seed 0)."""
    model.train()
    seen: dict[str, torch.Tensor] = {}
    first.register_forward_hook(_grad_tap(seen, "first"))
    torch.manual_seed(0)
    out = (forward or model)(*inputs)
    out.register_hook(lambda g: seen.__setitem__("last", g))
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(0))).sum().backward()
    return _rms(seen["first"]), _rms(seen["last"])


def _residual_twin(plain: torch.nn.Module) -> torch.nn.Module:
    """The fixed example (residual blocks written by hand) carrying the bad example's weights.

    Both list their parameters in the same order (each stage: width conv, then the pairs of
    shape-preserving convs, which the fixed example holds as block.body.0 / block.body.2), so this
    is the plain net with a shortcut relu(conv(relu(conv(x))) + x) around every pair.
    """
    twin = load_example("missing_residual_fixed").build()
    pairs = list(zip(twin.parameters(), plain.parameters(), strict=True))
    assert all(mine.shape == theirs.shape for mine, theirs in pairs)
    with torch.no_grad():
        for mine, theirs in pairs:
            mine.copy_(theirs)
    return twin


def test_bad_example_ratio_before_and_after_match_independent_backward() -> None:
    example = load_example("missing_residual_bad")
    model, inputs = example.build(), example.example_inputs()
    [finding] = archlint.check(model, inputs, select=["AL401"]).models[0].findings
    assert finding.message.startswith("16 parametric layers") and "6 stretch(es)" in finding.message
    plain = copy.deepcopy(model)
    first, last = _output_signal(plain, inputs, plain.features[0][1])  # features.0 = conv, relu: δ read after the ReLU
    ratio, first_signal = finding.effect
    assert ratio.before == pytest.approx(first / last, rel=1e-4)
    assert first_signal.before == pytest.approx(first, rel=1e-4)
    # after: the fixed example's residual blocks holding the same weights, run the same way
    twin = _residual_twin(copy.deepcopy(model))
    first_after, last_after = _output_signal(twin, inputs, twin.features[0][1])
    assert ratio.after == pytest.approx(first_after / last_after, rel=1e-4)
    assert first_signal.after == pytest.approx(first_after, rel=1e-4)
    # the lesson: without shortcuts the signal at features.0 has all but vanished; with them it is >1000x larger
    assert ratio.before < 1e-6 and ratio.after > 1000 * ratio.before and not finding.unmeasured
    traced = trace_model(model, inputs)
    graph = build_graph(traced.graph_module, model)
    spans = shortcut_spans(graph, longest_unbypassed_chain(graph))
    pairs = [(6 * stage + 1 + 2 * j, 6 * stage + 2 + 2 * j) for stage in range(3) for j in range(2)]
    assert [(graph[s.first].module_path, graph[s.last].module_path) for s in spans] == \
        [(f"features.{a}.0", f"features.{b}.0") for a, b in pairs]  # no norm: the add follows the 2nd conv
    rewritten = add_identity_shortcuts(traced.graph_module, spans)
    adds = [n for n in rewritten.graph.nodes if n.op == "call_function" and "add" in str(n.target)]
    assert len(adds) == 6
    assert "channels: int = 32" in finding.fix.snippet


def test_fixed_example_keeps_the_signal_with_its_own_weights() -> None:
    """The fixed example as shipped (own init, not the bad one's weights) shows no vanishing either."""
    bad, fixed = load_example("missing_residual_bad"), load_example("missing_residual_fixed")
    plain, residual = bad.build(), fixed.build()
    plain_first, plain_last = _output_signal(plain, bad.example_inputs(), plain.features[0][1])
    first, last = _output_signal(residual, fixed.example_inputs(), residual.features[0][1])
    assert first / last > 1000 * (plain_first / plain_last)


class _PlainBatchNormNet(torch.nn.Module):
    """A plain chain with BatchNorm (stem, 12 conv-BN-ReLU, a strided one, classifier): 15 layers, no shortcut."""

    def __init__(self, width: int = 32):
        super().__init__()
        def block(c_in: int, c_out: int, stride: int = 1) -> torch.nn.Sequential:
            return torch.nn.Sequential(torch.nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
                                       torch.nn.BatchNorm2d(c_out), torch.nn.ReLU(inplace=True))
        self.stem = block(3, width)
        self.body = torch.nn.Sequential(*[block(width, width) for _ in range(12)])
        self.down = block(width, 2 * width, stride=2)
        self.pool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc = torch.nn.Linear(2 * width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.down(self.body(self.stem(x)))), 1))


def _hand_made_residual(net: _PlainBatchNormNet):
    """`net` with standard residual blocks relu(bn2(conv2(relu(bn1(conv1(x))))) + x), written by hand."""
    def forward(x: torch.Tensor) -> torch.Tensor:
        x = net.stem(x)
        for i in range(0, len(net.body), 2):
            a, b = net.body[i], net.body[i + 1]
            x = b[2](b[1](b[0](a(x))) + x)
        return net.fc(torch.flatten(net.pool(net.down(x)), 1))
    return forward


def test_batchnorm_chain_reports_that_shortcuts_did_not_raise_the_signal() -> None:
    torch.manual_seed(0)
    model = _PlainBatchNormNet()
    inputs = (torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)
    [finding] = archlint.check(model, inputs, select=["AL401"]).models[0].findings
    assert finding.message.startswith("15 parametric layers")
    twin = copy.deepcopy(model)
    first, last = _output_signal(twin, inputs, twin.stem[2])  # stem = conv, bn, relu: δ read after the ReLU
    ratio = finding.effect[0]
    assert ratio.before == pytest.approx(first / last, rel=1e-4)
    twin = copy.deepcopy(model)
    first_after, last_after = _output_signal(twin, inputs, twin.stem[2], _hand_made_residual(twin))
    assert ratio.after == pytest.approx(first_after / last_after, rel=1e-4)
    # with BatchNorm, unscaled shortcuts lower the signal at the stem of this untrained model: reported, with why
    assert ratio.after < ratio.before and any("did not raise" in u and "BatchNorm" in u for u in finding.unmeasured)


def test_vgg16_shortcuts_raise_the_signal_at_the_first_layer(zoo) -> None:
    model = zoo("vgg16")
    inputs = (torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)),)
    [finding] = archlint.check(model, inputs, select=["AL401"]).models[0].findings
    twin = copy.deepcopy(model)
    first, last = _output_signal(twin, inputs, twin.features[1])  # features.0 conv, features.1 ReLU
    ratio = finding.effect[0]
    assert ratio.before == pytest.approx(first / last, rel=1e-4)
    assert ratio.after > 10 * ratio.before and not finding.unmeasured  # no BatchNorm: the signal no longer fades


def test_rewrite_adds_real_shortcuts() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4))
    traced = trace_model(net, (torch.randn(2, 4),))
    gm = traced.graph_module
    names = [n.name for n in gm.graph.nodes if n.op == "call_module"]
    from archlint.analysis.rewrite import Span

    rewritten = add_identity_shortcuts(gm, [Span(names[0], names[1])])
    x = torch.randn(2, 4)
    assert torch.allclose(rewritten(x), net[2](torch.relu(net[0](x)) + x))
    assert torch.allclose(gm(x), net(x))  # the original graph is unchanged


def test_fixed_example_clean_and_no_probe_still_flags() -> None:
    fixed = load_example("missing_residual_fixed")
    findings = archlint.check(fixed.build(), fixed.example_inputs()).models[0].findings
    assert [f.code for f in findings] == []  # every rule: the residual blocks leave nothing to report
    bad = load_example("missing_residual_bad")
    [finding] = archlint.check(bad.build(), bad.example_inputs(), select=["AL401"], probe=False).models[0].findings
    assert finding.effect == () and any("no-probe" in u for u in finding.unmeasured)


def test_spans_do_not_cross_a_pool_between_same_width_convs() -> None:
    """conv(3->32), conv(32), pool, 10 x conv(32), head: a span (conv 1, conv 3) would join 32x32 to 16x16."""
    def conv_relu(c_in: int, c_out: int) -> torch.nn.Sequential:
        return torch.nn.Sequential(torch.nn.Conv2d(c_in, c_out, 3, padding=1), torch.nn.ReLU())
    torch.manual_seed(0)
    model = torch.nn.Sequential(conv_relu(3, 32), conv_relu(32, 32), torch.nn.MaxPool2d(2),
                                *[conv_relu(32, 32) for _ in range(10)],
                                torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 10))
    inputs = (torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)
    traced = trace_model(model, inputs)
    graph = build_graph(traced.graph_module, model)
    spans = shortcut_spans(graph, longest_unbypassed_chain(graph))
    # `1` alone before the pool, then pairs (3, 4) ... (11, 12) after it
    assert [(graph[s.first].module_path, graph[s.last].module_path) for s in spans] == \
        [("1.0", "1.0")] + [(f"{i}.0", f"{i + 1}.0") for i in range(3, 13, 2)]
    [finding] = archlint.check(model, inputs, select=["AL401"]).models[0].findings
    assert finding.effect[0].after is not None and not finding.unmeasured


class _GatedResidual(torch.nn.Module):
    """A residual block whose forward branches on a value, so fx keeps it as one opaque leaf (MobileViT-like)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.abs().sum() > 0:
            return x + self.fc(x)
        return x


class _ChainAroundOpaqueBlock(torch.nn.Module):
    def __init__(self, opaque: bool = True) -> None:
        super().__init__()
        self.before = torch.nn.Sequential(*[torch.nn.Linear(16, 16) for _ in range(6)])
        self.block = _GatedResidual(16) if opaque else torch.nn.Linear(16, 16)
        self.after = torch.nn.Sequential(*[torch.nn.Linear(16, 16) for _ in range(6)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after(self.block(self.before(x)))


def test_an_opaque_block_breaks_the_chain_instead_of_counting_as_plain() -> None:
    report = lint_report(_ChainAroundOpaqueBlock().eval(), torch.randn(4, 16), rule="missing-residual")
    assert report.models[0].tracer == "fx-leaves" and any("block (_GatedResidual) is one opaque layer" in n
                                                            for n in (note.text for note in report.models[0].notes))
    assert report.models[0].findings == []
    plain = lint(_ChainAroundOpaqueBlock(opaque=False).eval(), torch.randn(4, 16), rule="missing-residual")
    assert [f.code for f in plain] == ["AL401"] and "13 parametric layers in a row" in plain[0].message


class _NormAct(torch.nn.BatchNorm2d):
    """A batch norm + ReLU that calls F.batch_norm itself with `self.training` and checks the rank first, as
    timm's BatchNormAct2d does: traced in eval mode, the graph records training=False and reads x.ndim."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch._assert(x.ndim == 4, "expected a 4-D input")
        x = torch.nn.functional.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                           self.training, self.momentum, self.eps)
        return torch.relu(x)


class _PlainNormActNet(torch.nn.Module):
    """12 conv + NormAct layers, no shortcut, convs initialised small (the norms rescale them in training)."""

    def __init__(self) -> None:
        super().__init__()
        widths = [3] + [16] * 12
        self.body = torch.nn.Sequential(*[torch.nn.Sequential(torch.nn.Conv2d(a, b, 3, padding=1, bias=False),
                                                              _NormAct(b)) for a, b in zip(widths, widths[1:])])
        for module in self.body.modules():
            if isinstance(module, torch.nn.Conv2d):
                torch.nn.init.normal_(module.weight, std=0.01)
        self.head = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def test_functional_batch_norm_is_probed_with_batch_statistics() -> None:
    """The graph's F.batch_norm(training=False) runs with batch statistics in the train-mode probe, and the
    signal is read after the norm (the x.ndim read is not a second consumer): the δ ratio is the real one."""
    torch.manual_seed(0)
    model = _PlainNormActNet()
    inputs = (torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)),)
    report = lint_report(model, inputs, rule="missing-residual", options={"max_signal_ratio": 1e9})
    [finding] = report.models[0].findings
    ratio = finding.effect[0]
    twin = copy.deepcopy(model)
    first, _ = _output_signal(twin, inputs, twin.body[0][1])
    twin = copy.deepcopy(model)
    last, _ = _output_signal(twin, inputs, twin.body[-1][1])
    assert ratio.before == pytest.approx(first / last, rel=1e-4)
    assert ratio.before > 0.5    # without batch statistics the small convs would make it ~1e-20


def test_a_chain_whose_norms_keep_the_signal_is_not_reported(monkeypatch) -> None:
    """LCNetV2-like: 12 plain layers, but the measured signal at the first is not below half the last's; the
    shortcut rewrite is then not measured (its pass would only measure the effect of a fix nobody is told)."""
    torch.manual_seed(0)
    model = _PlainNormActNet()
    inputs = (torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)),)
    assert len(longest_unbypassed_chain(build_graph(trace_model(model, inputs).graph_module, model))) == 12
    rewrites = []
    real_rewrite = fixes.add_identity_shortcuts
    monkeypatch.setattr(fixes, "add_identity_shortcuts", lambda *a: rewrites.append(a) or real_rewrite(*a))
    assert lint(model, inputs, rule="missing-residual") == []
    assert rewrites == []
    # the same chain held to a stricter limit is reported, with the rewrite measured: the rule did measure
    [strict] = lint(model, inputs, rule="missing-residual", options={"max_signal_ratio": 1e9})
    assert len(rewrites) == 1 and strict.effect[0].after is not None
    # the shortcuts are the fix's change, run on the traced graph and verified; no source edit (a block class is needed)
    assert isinstance(strict.fix.change, AddShortcuts) and strict.fix.verified and strict.fix.edit is None
    assert "# shortcut: the input of `body.1.0` is added to the output of `body.2.1`" in strict.fix.snippet, strict.fix.snippet
    # without the probe nothing contradicts the chain: it is reported from the graph, unconfirmed
    [static] = lint(model, inputs, rule="missing-residual", probe=False)
    assert static.effect == () and any("unconfirmed" in u for u in static.unmeasured)


def test_the_signal_before_comes_from_the_probe_pass_and_equals_a_pass_of_the_graph() -> None:
    """δ at module outputs is read from the probe's own train pass (no pass of its own): the same numbers as a
    train pass of the traced graph with the same inputs, seed and loss, in-place activations included."""
    from archlint.analysis.probe.gradients import graph_gradients
    from archlint.analysis.shared import ModelAnalyses
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True))
                            for _ in range(6)], nn.Flatten(), nn.Linear(8 * 8 * 8, 3))
    inputs = (torch.randn(2, 8, 8, 8, generator=torch.Generator().manual_seed(1)),)
    gm = trace_model(model, inputs).graph_module
    graph = build_graph(gm, model)
    names = ["_0_2", "_3_2", "_7"]
    analyses = ModelAnalyses(model, graph, inputs)
    from_probe, method = analyses.graph_gradients(gm, names)
    assert analyses._probe is not None and not analyses._graph_gradients   # the probe's pass, no other
    assert "traced fx graph" not in method
    from_graph = graph_gradients(gm, inputs, names)
    for name in names:
        assert from_probe[name].grad_rms == pytest.approx(from_graph[name].grad_rms, rel=1e-5)
        assert from_probe[name].value_rms == pytest.approx(from_graph[name].value_rms, rel=1e-5)
    # a fixed copy's analyses measure with the pass of its own graph (the cheaper one), not a probe
    fixed = ModelAnalyses(model, graph, inputs, signals_from_probe=False)
    fixed.graph_gradients(gm, names)
    assert fixed._probe is None and fixed._graph_gradients


def test_a_functional_attention_is_not_a_layer_of_the_chain() -> None:
    """F.scaled_dot_product_attention has no weights: its projections are the layers (timm's cpubone counted it and
    reached 11 > 10)."""
    from torch import nn

    class Attend(nn.Module):
        def __init__(self):
            super().__init__()
            self.before = nn.Linear(8, 8)
            self.after = nn.Linear(8, 8)

        def forward(self, x):
            h = self.before(x)
            return self.after(torch.nn.functional.scaled_dot_product_attention(h, h, h))

    model = Attend()
    inputs = (torch.randn(2, 4, 8),)
    graph = build_graph(trace_model(model, inputs).graph_module, model)
    assert [n.kind for n in graph.nodes() if n.kind == "attention"] == ["attention"]
    assert [n.display_name for n in longest_unbypassed_chain(graph)] == ["before", "after"]

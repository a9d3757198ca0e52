"""dropout-placement: each case against an independent measurement; the fixed example is clean."""
from __future__ import annotations

import copy

import pytest
import torch

import archlint

from rule_support import example as load_example, lint




def _findings(model, inputs, **settings):
    return lint(model, inputs, rule="dropout-placement", **settings)


@pytest.fixture(scope="module")
def bad():
    example = load_example("dropout_placement_bad")
    model, inputs = example.build(), example.example_inputs()
    return model, inputs, {f.code: f for f in _findings(model, inputs)}


def test_bad_example_has_all_four_cases(bad) -> None:
    _, _, findings = bad
    assert set(findings) == {"AL701", "AL702", "AL703", "AL704"}
    assert findings["AL701"].severity == archlint.Severity.ERROR
    assert findings["AL704"].severity == archlint.Severity.INFO
    assert "training=self.training" in findings["AL701"].fix.snippet
    assert "Dropout2d" in findings["AL704"].fix.snippet


def test_eval_difference_matches_two_eval_passes(bad) -> None:
    model, inputs, findings = bad
    twin = copy.deepcopy(model).eval()  # the probe's eval passes come first, seeded
    torch.manual_seed(0)
    with torch.no_grad():
        first, second = twin(*inputs), twin(*inputs)
    expected = float((first - second).abs().max())
    assert expected > 0
    assert findings["AL701"].effect[0].before == pytest.approx(expected, rel=1e-5)


def test_batchnorm_variance_ratio_matches_hooks(bad) -> None:
    model, inputs, findings = bad
    twin = copy.deepcopy(model).train()
    seen: list[torch.Tensor] = []
    twin.bn2.register_forward_pre_hook(lambda m, i: seen.append(i[0].detach().clone()))
    torch.manual_seed(0)
    twin(*inputs)
    twin.drop_map.eval()
    twin(*inputs)
    var = [x.transpose(0, 1).reshape(32, -1).var(dim=1, unbiased=False).mean() for x in seen]
    assert findings["AL702"].effect[0].before == pytest.approx(float(var[0] / var[1]), rel=1e-4)
    assert findings["AL702"].effect[0].before > 1.2


def test_output_dropout_zero_share(bad) -> None:
    model, inputs, findings = bad
    twin = copy.deepcopy(model).train()
    torch.manual_seed(0)
    out = twin(*inputs)
    metric = findings["AL703"].effect[0]
    assert metric.before == pytest.approx(round(float((out == 0).float().mean()), 4))
    assert metric.after == 0.0


def test_neighbour_correlation(bad) -> None:
    model, inputs, findings = bad
    x = torch.relu(model.conv1(inputs[0])).detach().double()
    left, right = x[..., :-1].reshape(-1), x[..., 1:].reshape(-1)
    expected = float(torch.corrcoef(torch.stack([left, right]))[0, 1])
    assert findings["AL704"].effect[0].before == pytest.approx(expected, abs=1e-4)


def test_fixed_example_clean_and_no_probe_is_structural() -> None:
    fixed = load_example("dropout_placement_fixed")
    assert _findings(fixed.build(), fixed.example_inputs()) == []
    example = load_example("dropout_placement_bad")
    findings = _findings(example.build(), example.example_inputs(), probe=False)
    assert {f.code for f in findings} == {"AL701", "AL702", "AL703", "AL704"}
    assert all(f.effect == () and any("no-probe" in u for u in f.unmeasured) for f in findings)


def test_torchvision_classifier_dropout_is_clean(zoo) -> None:
    inputs = (torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)),)
    assert _findings(zoo("mobilenet_v3_small"), inputs) == []


class PooledThenDropout(torch.nn.Module):
    """S3D's head: global pooling to a 1×1×1 map, element-wise dropout, then a 1×1×1 conv classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Conv3d(3, 8, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool3d(1)
        self.drop = torch.nn.Dropout(0.2)
        self.classifier = torch.nn.Conv3d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.drop(self.pool(torch.relu(self.features(x))))).flatten(1)


def test_dropout_on_a_pooled_1x1x1_map_is_not_element_wise_on_a_feature_map() -> None:
    torch.manual_seed(0)
    findings = _findings(PooledThenDropout(), (torch.randn(2, 3, 4, 8, 8),))
    assert "AL704" not in {f.code for f in findings}


class EncoderTail(torch.nn.Module):
    """A BERT-style last block: dropout on the sub-layer output, then a residual add and a LayerNorm. The
    dropout comes after the last parametric layer, but it never zeroes an output value: features, not logits."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Linear(8, 16)
        self.dense = torch.nn.Linear(16, 16)
        self.drop = torch.nn.Dropout(0.1)
        self.norm = torch.nn.LayerNorm(16, elementwise_affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)
        return self.norm(h + self.drop(self.dense(h)))


class T5StyleEncoderTail(EncoderTail):
    """T5's encoder ends with its final LayerNorm, then a dropout on the output: dropout on features."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)
        return self.drop(self.norm(h + self.dense(h)))


class LogitsDropout(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = torch.nn.Linear(8, 16)
        self.head = torch.nn.Linear(16, 4)
        self.drop = torch.nn.Dropout(0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.head(torch.relu(self.features(x))))


@pytest.mark.parametrize("probe", [True, False])
@pytest.mark.parametrize("model", [EncoderTail(), T5StyleEncoderTail()], ids=["bert-tail", "t5-tail"])
def test_dropout_on_an_encoders_features_is_not_dropout_on_logits(model: torch.nn.Module, probe: bool) -> None:
    torch.manual_seed(0)
    assert "AL703" not in {f.code for f in _findings(model, (torch.randn(4, 3, 8),), probe=probe)}


def test_dropout_on_a_heads_logits_is_flagged_and_measured() -> None:
    torch.manual_seed(0)
    [finding] = [f for f in _findings(LogitsDropout(), (torch.randn(64, 8),)) if f.code == "AL703"]
    zeroed = finding.effect[0]
    assert finding.module == "drop" and zeroed.before > zeroed.after == 0.0

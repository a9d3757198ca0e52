"""Analysis on the meta device: same structure as on the CPU, no weight memory, big models feasible."""
from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

import pytest
import torch
from torch import nn

import archlint
from archlint import Finding, Rule, Severity, hookimpl
from archlint.load.device import build_model, count_parameters
from archlint.mechanics.state import preserved_rng

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
# Structural built-in rules (when installed) + the test rule below; value/probe rules are not compared.
STRUCTURAL = ["T903", "AL201", "AL301", "AL501", "AL601"]


class LayerFacts(Rule):
    """Test-only structural rule: one finding per parametric layer with its shapes, params and hyper-parameters."""

    code = "T903"
    name = "layer-facts"
    summary = "test rule"
    severity = Severity.INFO

    def check(self, ctx):
        for node in ctx.graph.nodes():
            if node.is_parametric or node.kind in ("pool", "adaptive_pool", "flatten", "add"):
                yield Finding.at(node, self.code, f"{node.kind} {node.type_name} in={node.in_shapes} "
                                                  f"out={node.out_shape} params={node.params} {sorted(node.hparams.items())}")


class LayerFactsPlugin:
    @hookimpl
    def archlint_rules(self):
        return [LayerFacts()]


class SmallNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 7, stride=2, padding=3), nn.BatchNorm2d(16), nn.ReLU())
        self.block = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1))
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 8 * 8, 10))

    def forward(self, x):
        x = self.stem(x)
        x = x + self.block(x)
        return self.head(self.pool(x))


def lint(model: nn.Module) -> archlint.Report:
    return archlint.check(model, torch.randn(2, 3, 32, 32), plugins=(LayerFactsPlugin(),), select=STRUCTURAL,
                          probe=False)


def comparable(report: archlint.Report) -> list[tuple]:
    return [(f.code, f.module, f.file, f.line, f.message if f.code == "T903" else "") for f in report.findings]


def test_small_model_same_structural_findings_on_meta_and_cpu(monkeypatch):
    monkeypatch.setenv("ARCHLINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    on_cpu, on_meta = build_model(SmallNet, "cpu"), build_model(SmallNet, "meta")
    assert on_cpu.model.stem[0].weight.device.type == "cpu" and on_meta.model.stem[0].weight.is_meta
    cpu_report, meta_report = lint(on_cpu.model), lint(on_meta.model)
    assert meta_report.models[0].device == "meta" and cpu_report.models[0].device == "cpu"
    assert cpu_report.models[0].tracer == meta_report.models[0].tracer == "fx"
    assert comparable(cpu_report) == comparable(meta_report)
    facts = {f.module: f.message for f in meta_report.findings if f.code == "T903"}
    # independent shape arithmetic: 32 -> stride-2 stem 16 -> pool 8; flatten 16*8*8 = 1024 -> 10
    assert "out=(2, 16, 16, 16) params=2368" in facts["stem.0"]   # 16*3*7*7 + 16
    assert "out=(2, 10) params=10250" in facts["head.1"]         # 1024*10 + 10
    assert meta_report.models[0].parameters == cpu_report.models[0].parameters == sum(
        p.numel() for p in on_cpu.model.parameters())


def test_auto_device_uses_meta_only_above_the_threshold():
    small = build_model(SmallNet, "auto", meta_above=1_000_000)
    assert small.device == "cpu" and small.note is None
    forced = build_model(SmallNet, "auto", meta_above=1_000)
    expected = 2368 + 32 + 2 * (16 * 16 * 9 + 16) + 10250   # stem conv + BN affine + two 3x3 convs + head
    assert forced.device == "meta" and f"{expected:,} parameters" in forced.note
    assert count_parameters(forced.model) == expected


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(f"archlint_example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_llama_7b_is_analysed_on_meta_without_weight_memory(monkeypatch):
    monkeypatch.setenv("ARCHLINT_DISABLE_PLUGIN_AUTOLOAD", "1")
    llama = load_example("llama_7b")
    built = build_model(llama.llama_7b, "auto")
    vocab, d, layers, hidden = 32000, 4096, 32, 11008
    expected = 2 * vocab * d + layers * (4 * d * d + 3 * d * hidden + 2 * d) + d
    assert expected == 6_738_415_616
    assert built.device == "meta" and count_parameters(built.model) == expected
    report = archlint.check(built.model, llama.example_inputs(), plugins=(LayerFactsPlugin(),), select=["T903"])
    model_report = report.models[0]
    assert (model_report.tracer, model_report.parameters, model_report.device) == ("fx", expected, "meta")
    facts = {f.module: f.message for f in model_report.findings}
    assert f"out=(2, 16, {vocab})" in facts["lm_head"]
    assert f"out=(2, 16, {hidden})" in facts["layers.31.mlp.gate_proj"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads VmHWM from /proc")
def test_llama_7b_cli_check_peak_rss_stays_under_2_gib():
    # A fresh process: this test process's own peak is inflated by whatever models earlier tests built.
    script = (
        "import sys\n"
        "from archlint.cli import main\n"
        "code = main(['check', sys.argv[1], '--format', 'json', '--output', sys.argv[2]])\n"
        # VmHWM belongs to this process's own address space; ru_maxrss would carry over the forking
        # parent's peak (Linux keeps the pre-exec high-water mark), i.e. the test process's.
        "peak = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
        "print(code, peak)\n"
    )
    out = EXAMPLES.parent / ".pytest-llama.json"
    try:
        done = subprocess.run([sys.executable, "-c", script, str(EXAMPLES / "llama_7b.py"), str(out)],
                              capture_output=True, text=True, timeout=600)
        code, peak_kib = map(int, done.stdout.split()[-2:])
        report = json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)
    assert code in (0, 1), done.stderr
    (model,) = report["models"]
    assert model["parameters"] == 6_738_415_616 and model["device"] == "meta"
    peak_gib = peak_kib * 1024 / 2**30
    assert peak_gib < 2.0, f"peak RSS {peak_gib:.2f} GiB: weights were allocated (fp32 would be 25 GiB)"


class WidthsFromTensors(nn.Module):
    """Like RegNet: the constructor computes layer widths with tensor ops, which fail when all tensors are meta."""

    def __init__(self):
        super().__init__()
        widths = (torch.arange(1, 4) * 8).tolist()          # [8, 16, 24]
        self.layers = nn.Sequential(*[nn.Linear(a, b) for a, b in zip([4, *widths], widths)])
        nn.init.zeros_(self.layers[2].weight)


def test_constructor_computing_with_tensors_still_builds_on_meta():
    built = build_model(WidthsFromTensors, "meta")
    assert "moved to meta" in built.note
    assert all(p.is_meta for p in built.model.parameters())
    assert count_parameters(built.model) == (4 * 8 + 8) + (8 * 16 + 16) + (16 * 24 + 24)
    from archlint.load.provenance import init_record
    record = init_record(built.model.layers[2].weight)   # provenance survives the move to meta
    assert (record.op, record.constant, record.value) == ("nn.init.zeros_", True, 0.0)


class _ReadsAValueWhileBuilt(torch.nn.Module):
    """vit-pytorch's Dino-like: the constructor reads the value of a tensor it registered (.item()), which no
    meta-device build can do."""

    def __init__(self) -> None:
        super().__init__()
        self.gain = torch.nn.Parameter(torch.ones(1))
        self.scale = float(self.gain.item()) + 1.0
        self.fc = torch.nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) * self.scale


def test_a_constructor_that_cannot_run_on_meta_is_built_on_the_cpu_in_auto_mode(monkeypatch) -> None:
    from archlint.load import device

    # past the CPU-first limit, the size is counted on meta first: that build fails
    monkeypatch.setattr(device, "CPU_FIRST_PARAMETERS", 10)
    built = build_model(_ReadsAValueWhileBuilt, device="auto")
    assert built.device == "cpu" and not any(p.is_meta for p in built.model.parameters())
    assert built.note is not None and "could not be counted on the meta device" in built.note and ".item()" in built.note
    # under it, it is built once, on the CPU, as the user builds it
    monkeypatch.undo()
    built = build_model(_ReadsAValueWhileBuilt, device="auto")
    assert built.device == "cpu" and built.note is None


def test_a_model_that_cannot_run_on_meta_is_not_built_on_the_cpu_past_the_meta_above_threshold() -> None:
    # a 7B model whose constructor cannot run on meta would take the machine's memory on the CPU: the build stops
    # at the parameter that passes the threshold, and says why, with the meta failure
    from archlint.load.device import TooLargeForCpu

    state = torch.random.get_rng_state()
    with pytest.raises(TooLargeForCpu, match=r"more than 10 parameters .* could not be built on the meta device.*item"):
        build_model(_ReadsAValueWhileBuilt, device="auto", meta_above=10)
    assert torch.equal(torch.random.get_rng_state(), state)


class CountedNet(SmallNet):
    """SmallNet counting its constructions; its constructor swallows every Exception, as some do."""

    built = 0

    def __init__(self) -> None:
        CountedNet.built += 1
        try:
            super().__init__()
        except Exception:
            pass


def _seeded_plain_build() -> dict[str, torch.Tensor]:
    with preserved_rng(seed=0):
        return SmallNet().state_dict()


def _same_weights(model: nn.Module, expected: dict[str, torch.Tensor]) -> bool:
    return all(torch.equal(v, expected[k]) for k, v in model.state_dict().items())


def test_auto_builds_a_model_under_the_cpu_first_limit_once_with_the_users_weights() -> None:
    CountedNet.built = 0
    with preserved_rng(seed=0):
        built = build_model(CountedNet, "auto")
    assert (built.device, built.note, CountedNet.built) == ("cpu", None, 1)
    assert _same_weights(built.model, _seeded_plain_build())


def test_past_the_cpu_first_limit_the_build_stops_and_restarts_from_the_same_rng(monkeypatch) -> None:
    from archlint.load import device

    monkeypatch.setattr(device, "CPU_FIRST_PARAMETERS", 5_000)   # SmallNet has 17,464: its third conv passes it
    CountedNet.built = 0
    with preserved_rng(seed=0):
        built = build_model(CountedNet, "auto")
    # stopped (through the constructor's `except Exception`), counted on meta, built on the CPU
    assert (built.device, built.note, CountedNet.built) == ("cpu", None, 3)
    assert _same_weights(built.model, _seeded_plain_build())
    with preserved_rng(seed=0):
        assert build_model(CountedNet, "auto", meta_above=10_000).device == "meta"


def test_the_parameter_limit_counts_the_parameters_alive_not_every_one_ever_registered() -> None:
    # a README's examples build one model after another, each replacing the last: at most one is held at a time
    from archlint.load.device import TooManyParameters, parameters_at_most

    with parameters_at_most(1_000):
        for _ in range(20):
            model = nn.Linear(20, 20)   # 420 parameters, 8,400 registered in all
    del model
    with pytest.raises(TooManyParameters), parameters_at_most(1_000):
        kept = [nn.Linear(20, 20) for _ in range(3)]   # 1,260 alive at once
        del kept

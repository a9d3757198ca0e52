"""The analyses of one model that several rules and the report share, each computed at most once.

The runner makes one `ModelAnalyses` per model and hands it to every rule through the CheckContext
(`ctx.analyses`, and `ctx.probe()`). Each analysis is a typed method: the receptive fields of the
graph, the model's MACs, the shared forward/backward probe, the backward signal at chosen graph
nodes. The report's plot data comes from here too (`plot_data`), so what a format draws never depends
on which rules happened to run.
"""
from __future__ import annotations

import functools
import math
import time
from typing import Any, Callable, Sequence, TypeVar

from torch import fx, nn

from archlint.analysis.cost import model_macs
from archlint.analysis.fixes import FixedModel, fixed_model, output_signature
from archlint.analysis.graph import ArchGraph
from archlint.analysis.measurement import MeasurementUnavailable
from archlint.analysis.probe.gradients import (
    NodeGradient,
    describe_graph_method,
    graph_gradients,
)
from archlint.analysis.probe.passes import probe_inputs, run_probe
from archlint.analysis.probe.results import (
    DEFAULT_MAX_BATCH,
    DEFAULT_SEED,
    ProbeFailed,
    ProbeResult,
)
from archlint.analysis.race import RaceSettings, run_race
from archlint.analysis.receptive_field import NodeRF, compute_receptive_fields, rf_rows
from archlint.load.provenance import InitRecord, init_record
from archlint.mechanics.errors import user_error_text
from archlint.mechanics.frames import innermost_frame
from archlint.mechanics.profile import phase
from archlint.mechanics.tensors import memory_budget, memory_budget_text, memory_size
from archlint.plugin.changes import Change
from archlint.plugin.findings import Race, RaceTask
from archlint.plugin.results import PlotData


K = TypeVar("K")
V = TypeVar("V")


def remembered(store: dict[K, V | MeasurementUnavailable], key: K, compute: Callable[[], V]) -> V:
    """`compute()` once per key; a MeasurementUnavailable is remembered too, and raised again on every ask."""
    if key not in store:
        try:
            store[key] = compute()
        except MeasurementUnavailable as exc:
            store[key] = exc
    found = store[key]
    if isinstance(found, MeasurementUnavailable):
        raise found
    return found


# Fixed copies are each traced again; for a model whose trace takes seconds (torch.export of a large UNet), dozens
# of findings would cost minutes. Past this, a fix says it was not run (the finding keeps its model's numbers).
FIX_BUDGET_SECONDS = 15.0


class ModelAnalyses:
    """Shared, cached measurements of one model (on copies: the user's model is never changed)."""

    def __init__(self, model: nn.Module, graph: ArchGraph, example_inputs: Sequence[Any], *,
                 probe_enabled: bool = True, device: str = "cpu", signals_from_probe: bool = True,
                 race: RaceSettings | None = None, tracer: str = ""):
        self.model = model
        self.tracer = tracer   # the tracer the model's graph came from: a fixed copy is traced with it first
        self.race_settings = race
        self._races: dict[tuple[Change, RaceTask], Race | MeasurementUnavailable] = {}
        # δ at graph nodes read from the probe's train pass when it has them (the model as it is: the probe runs for
        # the other rules anyway); a fixed copy measures only what is asked, with the cheaper pass of its graph
        self.signals_from_probe = signals_from_probe
        self.graph = graph
        self.example_inputs = tuple(example_inputs)
        self.probe_enabled = probe_enabled
        self.device = device
        self._probe: ProbeResult | MeasurementUnavailable | None = None
        self.probe_failure: str | None = None     # the user's code made the probe fail: the report says so
        # by graph module (held, so its id stays its own) and node names
        self._graph_gradients: dict[tuple[int, frozenset[str]],
                                    tuple[fx.GraphModule, dict[str, NodeGradient] | MeasurementUnavailable]] = {}
        self._fixed: dict[Change, FixedModel | MeasurementUnavailable] = {}
        self._fixing_seconds = 0.0   # spent building and verifying fixed copies, against FIX_BUDGET_SECONDS

    def output_signature(self) -> list[tuple[tuple[int, ...], Any]] | None:
        """The shapes and dtypes of the model's outputs, from its traced graph: what every fixed copy must give back."""
        try:
            return output_signature(self.graph.graph_module())
        except MeasurementUnavailable:
            return None

    def fixed(self, change: Change) -> FixedModel:
        """The verified fixed copy for `change` (built once per change; see archlint.analysis.fixes), measured by
        analyses of its own. Raises MeasurementUnavailable saying why when the change does not apply or verify."""
        def build() -> FixedModel:
            self.require_values("running a fix on a copy")
            if self._fixing_seconds > FIX_BUDGET_SECONDS:
                verified = sum(isinstance(f, FixedModel) for f in self._fixed.values())
                raise MeasurementUnavailable(
                    f"verifying this model's fixes took {self._fixing_seconds:.0f} s, past the lint's "
                    f"{FIX_BUDGET_SECONDS:.0f} s for them ({verified} verified before; each traces a copy of the model)")
            started = time.perf_counter()
            try:
                with phase("fix"):
                    return fixed_model(
                        self.model, self.example_inputs, change, self.output_signature(),
                        lambda model, graph: ModelAnalyses(model, graph, self.example_inputs,
                                                           probe_enabled=self.probe_enabled, device=self.device,
                                                           signals_from_probe=False),
                        self.graph.graph_module(), self.tracer)
            finally:
                self._fixing_seconds += time.perf_counter() - started
        return remembered(self._fixed, change, build)

    def race(self, change: Change, pending: int = 1, label: str = "",
             task: RaceTask = RaceTask.TRAINABILITY) -> Race:
        """The race of the model as it is against its verified fixed copy (see archlint.analysis.race), run once per
        change within its share of the run's budget (`pending`: the races still to run, this one included)."""
        def run() -> Race:
            settings = self.race_settings
            if settings is None:
                raise MeasurementUnavailable("the race was not asked for (--race)")
            self.require_values("the race")
            fixed = self.fixed(change)
            signature = self.output_signature()
            if not signature:
                raise MeasurementUnavailable("the model's output shape is unknown, so no task can be made for it")
            self._require_race_memory(settings)
            allowance = settings.clock.allowance(settings.budget_seconds, pending)
            started = time.perf_counter()
            try:
                with phase("race"):
                    return run_race(self.model, fixed.model, self.example_inputs, signature[0][0], settings,
                                    allowance, label, task)
            finally:
                settings.clock.charge(time.perf_counter() - started)
        return remembered(self._races, (change, task), run)

    def _require_race_memory(self, settings: RaceSettings) -> None:
        """Two trained copies (weights, gradients, two Adam moments each) and their activations and gradients at
        the race's batch must fit the memory budget, as the probe's must."""
        weights = sum(p.numel() * p.element_size() for p in self.model.parameters())
        activations = 2 * _activation_bytes(self.graph, settings.batch, 4)
        refusal = _past_memory_budget(2 * (4 * weights + activations), "the race",
                                      f"two trained copies: weights, gradients and two Adam moments each, and "
                                      f"activations and their gradients at batch {settings.batch}, from the traced "
                                      f"shapes")
        if refusal:
            raise MeasurementUnavailable(refusal)

    def require_values(self, what: str) -> None:
        """Raise MeasurementUnavailable if the weights have no values (meta device)."""
        if self.device == "meta" or any(p.is_meta for p in self.model.parameters()):
            raise MeasurementUnavailable(f"{what} needs real weights; the model was analysed on the meta device")

    def _require_probe(self) -> None:
        if not self.probe_enabled:
            raise MeasurementUnavailable("probe disabled (--no-probe)")
        self.require_values("the probe")
        self._require_memory()

    def _require_memory(self) -> None:
        """Cost before work: the probe's train pass keeps every activation and its gradient, and copies the
        smaller weights; estimated from the traced shapes, it must fit half of the memory free now."""
        refusal = _past_memory_budget(probe_memory_estimate(self.graph, self.model, self.example_inputs),
                                      "the probe", "activations and their gradients at the probe batch, from the "
                                                   "traced shapes, plus weight copies and gradients")
        if refusal:
            raise ProbeFailed(refusal)

    def require_rf_budget(self) -> None:
        """The empirical receptive field's float64 pass keeps every activation and its gradient, and runs the
        model's layers in float64 forward and backward: estimated from the traced shapes, it must fit the memory
        budget, as the probe's must, and its multiply-accumulates the time a lint may give it."""
        refusal = _past_memory_budget(rf_memory_estimate(self.graph, self.model), "its float64 backward pass",
                                      "activations and their gradients of one sample, from the traced shapes, plus "
                                      "float64 weights")
        if refusal:
            raise MeasurementUnavailable(refusal)
        if self.model_macs > RF_MOST_MACS:   # a float64 backward costs about twice its forward
            raise MeasurementUnavailable(
                f"its float64 forward and backward pass would run about 3 × {self.model_macs / 1e9:.0f} G "
                f"multiply-accumulates (the layers' count at this input, one sample), past the "
                f"{RF_MOST_MACS / 1e9:.0f} G a lint gives it; pass a smaller --input-shape")

    @functools.cached_property
    def receptive_fields(self) -> dict[str, NodeRF]:
        """Receptive field (per axis) of every node with spatial axes, from the graph's formula."""
        return compute_receptive_fields(self.graph)

    @functools.cached_property
    def model_macs(self) -> int:
        """Per-sample multiply-accumulates of the model's conv and linear layers."""
        return model_macs(self.graph)

    def probe(self) -> ProbeResult:
        """The shared forward/backward probe (see archlint.analysis.probe); run once per model."""
        if self._probe is None:
            try:
                self._require_probe()
                with phase("probe"):
                    self._probe = run_probe(self.model, self.example_inputs)
            except MeasurementUnavailable as exc:
                self._probe = exc
                if isinstance(exc, ProbeFailed):
                    self.probe_failure = str(exc)
            except Exception as exc:
                if innermost_frame(exc.__traceback__) is None:
                    raise       # not the user's code: an archlint bug, reported as one
                # the user's forward fails in training mode or under backward: nothing to measure, and said so
                self.probe_failure = f"the probe's training-mode forward and backward failed ({user_error_text(exc)})"
                self._probe = MeasurementUnavailable(self.probe_failure)
        if isinstance(self._probe, MeasurementUnavailable):
            raise self._probe
        return self._probe

    def graph_gradients(self, gm: fx.GraphModule, names: Sequence[str], *, owned: bool = False
                        ) -> tuple[dict[str, NodeGradient], str]:
        """The backward signal δ at the named nodes of `gm` and its method sentence, cached by `gm` and the names.
        `gm` runs on a copy unless `owned` (a rewrite the caller made for this measurement)."""
        if self.signals_from_probe and not owned and gm is self.graph.graph_module():
            from_probe = self._signals_from_probe(gm, names)
            if from_probe is not None:
                return from_probe
        key = (id(gm), frozenset(names))
        if key not in self._graph_gradients:
            try:
                self._require_probe()
                found: dict[str, NodeGradient] | MeasurementUnavailable = graph_gradients(
                    gm, self.example_inputs, names, copy_module=not owned)
            except MeasurementUnavailable as exc:
                found = exc
            self._graph_gradients[key] = (gm, found)
        _, found = self._graph_gradients[key]
        if isinstance(found, MeasurementUnavailable):
            raise found
        _, size = probe_inputs(self.example_inputs, DEFAULT_MAX_BATCH, None)
        return found, describe_graph_method(size, DEFAULT_SEED)

    def _signals_from_probe(self, gm: fx.GraphModule, names: Sequence[str]
                            ) -> tuple[dict[str, NodeGradient], str] | None:
        """δ at the named nodes read from the probe's own train pass, when each is the output of a module called once
        (the same inputs, seed and loss as a pass of the graph: the same numbers, one pass fewer); None otherwise."""
        calls: dict[str, int] = {}
        for node in gm.graph.nodes:
            if node.op == "call_module":
                calls[str(node.target)] = calls.get(str(node.target), 0) + 1
        nodes = {n.name: n for n in gm.graph.nodes}
        targets = {name: str(nodes[name].target) for name in names
                   if name in nodes and nodes[name].op == "call_module" and calls[str(nodes[name].target)] == 1}
        if len(targets) != len(names):
            return None
        probe = self.probe()
        if not all(target in probe.output_signals for target in targets.values()):
            return None
        signals = {name: probe.output_signals[target] for name, target in targets.items()}
        return ({name: NodeGradient(name, s.grad_rms, s.value_rms, s.numel) for name, s in signals.items()},
                f"{probe.method}; δ = RMS per element of ∂L/∂(layer output after its norm/activation)")

    def probe_copy(self, model_copy: nn.Module) -> ProbeResult:
        """The probe's weight gradients on a changed copy the caller owns (same inputs, seed and loss)."""
        return run_probe(model_copy, self.example_inputs, copy_model=False, gradients_only=True)

    def init_provenance(self, param_name: str) -> InitRecord | None:
        try:
            return init_record(self.model.get_parameter(param_name))
        except AttributeError:
            return None

    def plot_data(self, measure: bool = False) -> PlotData:
        """The report's plots. Gradient norms come from the probe when a rule already ran it, or when
        `measure` asks for it (a format that draws them was requested)."""
        if self._probe is None and measure:
            try:
                self.probe()
            except MeasurementUnavailable:
                pass
        if isinstance(self._probe, ProbeResult):
            gradients: list[dict[str, Any]] | dict[str, str] = self._probe.grad_norm_rows()
        elif isinstance(self._probe, MeasurementUnavailable):
            gradients = {"unavailable": str(self._probe)}
        else:
            gradients = {"unavailable": "no rule that runs the probe was selected"}
        return PlotData(rf_rows(self.graph, self.receptive_fields), self.graph.parameter_split(), gradients)


# Per-sample multiply-accumulates up to which the empirical receptive field's float64 pass is run: vgg16 at 224 px
# (15.5 G) is measured; an ASPP head at 2048 channels on a 224 px map (735 G) took a minute.
RF_MOST_MACS = 25_000_000_000


def _past_memory_budget(needed: int, what: str, counted: str) -> str | None:
    """Why `what` is not run, when the `needed` bytes (`counted` says of what) are past the memory budget."""
    budget = memory_budget()
    if budget is None or needed <= budget:
        return None
    return (f"{what} would need about {memory_size(needed)} ({counted}) and the budget is "
            f"{memory_budget_text(budget)}; pass a smaller --input-shape")


def probe_memory_estimate(graph: ArchGraph, model: nn.Module, example_inputs: Sequence[Any]) -> int:
    """Bytes the probe's forward + backward needs: every node's output at the probe batch, twice (value and
    gradient), plus every weight twice (gradient, and the copy the probe makes of weights up to 64 MiB)."""
    _, batch = probe_inputs(example_inputs, DEFAULT_MAX_BATCH, None)
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return 2 * _activation_bytes(graph, batch, 4) + 2 * weights


def rf_memory_estimate(graph: ArchGraph, model: nn.Module) -> int:
    """Bytes the empirical receptive field's float64 forward + backward of one sample needs: every node's output
    twice (value and gradient), plus a float64 copy of every weight and its gradient."""
    weights = sum(p.numel() for p in model.parameters()) * 8
    return 2 * _activation_bytes(graph, 1, 8) + 2 * weights


def _activation_bytes(graph: ArchGraph, batch: int, element_size: int) -> int:
    """Bytes of every node's output, from the traced shapes, at `batch` samples of `element_size` bytes."""
    activations = 0
    for node in graph.nodes():
        shape = node.out_shape
        if shape and node.kind not in ("param", "shape") and shape[0] > 0:
            activations += math.prod(shape[1:]) * batch * element_size
    return activations


__all__ = ["ModelAnalyses", "probe_memory_estimate", "rf_memory_estimate"]

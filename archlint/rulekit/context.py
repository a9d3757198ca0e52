"""What a rule receives: the model, its graph, example inputs, its options and the measurements of the model.

The context sits above the analyses it exposes: every measurement a rule makes goes through one of its
methods, which computes it once per model (whichever rule asks first) and raises MeasurementUnavailable,
with the reason, when it cannot be made on this run.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

from torch import fx, nn

from archlint.analysis.fixes import FixedModel
from archlint.analysis.graph import ArchGraph, LayerNode
from archlint.analysis.measurement import MeasurementUnavailable
from archlint.analysis.probe.gradients import NodeGradient
from archlint.analysis.probe.results import ProbeResult
from archlint.analysis.receptive_field import NodeRF, empirical_rf, input_positions
from archlint.analysis.rewrite import copy_sharing_large_weights
from archlint.analysis.shared import ModelAnalyses, remembered
from archlint.load.provenance import InitRecord
from archlint.plugin.changes import Change
from archlint.plugin.findings import Race, RaceTask
from archlint.trace.result import MODULE_CALLS_ONLY

T = TypeVar("T")


@dataclass
class CheckContext:
    """Read-only view of one model for rules.

    Rules must not modify `model`: measure through the methods below, which work on copies. A what-if is a
    copy or a rewrite the rule makes (`copy_model()`, `copy_sharing_large_weights()`, an fx rewrite of
    `graph_module`) and hands back to a measuring method (`probe_copy`, `graph_gradients(..., rewritten)`).
    """

    model_name: str
    model: nn.Module
    graph: ArchGraph
    example_inputs: tuple[Any, ...]
    analyses: ModelAnalyses
    options: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    probe_enabled: bool = True
    show_all: bool = False
    tracer: str = "fx"
    cache: dict[str, Any] = field(default_factory=dict)

    def for_rule(self, options: dict[str, Any]) -> "CheckContext":
        return replace(self, options=options)

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """A rule's own per-model memo; a MeasurementUnavailable is remembered too, so it is raised again."""
        return remembered(self.cache, key, compute)

    # -- what the model is -------------------------------------------------------------------------

    def require_values(self, what: str) -> None:
        """Raise MeasurementUnavailable if weights have no values (meta device)."""
        self.analyses.require_values(what)

    def init_provenance(self, param_name: str) -> InitRecord | None:
        """How parameter `param_name` (e.g. "fc.weight") was last written while the model was built.

        Works on any device, and is the only value information on the meta device: `record.constant`
        is True for zeros_/ones_/fill_/constant_/torch.zeros..., False for random initialisers, None if
        unknown; `record.value` is the constant when known; `record.file/line` the user's init call.
        None when the model was built outside archlint (e.g. `archlint.check(model)`) or nothing was seen.
        """
        return self.analyses.init_provenance(param_name)

    @property
    def module_calls_only(self) -> bool:
        """The graph holds module calls, not the operations between them (hooks tracers): functional additions,
        multiplications, reshapes and parameter reads are not in it."""
        return self.tracer in MODULE_CALLS_ONLY

    @property
    def graph_module(self) -> fx.GraphModule:
        """The traced fx GraphModule the graph was built from (rewrite a copy of it for a what-if)."""
        return self.graph.graph_module()

    # -- measurements of the model as it is ----------------------------------------------------------

    @property
    def receptive_fields(self) -> dict[str, NodeRF]:
        """Receptive field (per axis) of every node with spatial axes, from the graph's formula."""
        return self.analyses.receptive_fields

    @property
    def model_macs(self) -> int:
        """Per-sample multiply-accumulates of the model's conv and linear layers."""
        return self.analyses.model_macs

    def probe(self) -> ProbeResult:
        """The shared forward/backward probe (computed once per model); see archlint.analysis.probe."""
        return self.analyses.probe()

    def empirical_rf(self, node: LayerNode, axes: Iterable[int],
                     position: Mapping[int, int] | None = None) -> dict[int, tuple[int, int]]:
        """The input extent, per spatial axis of `node`'s output, that moves one output position (measured by
        a float64 backward pass on a copy of the model)."""
        self.analyses.require_rf_budget()
        image = next((n for n in self.graph.inputs() if n.out_shape is not None and len(n.out_shape) >= 3), None)
        return empirical_rf(self.copy_model(), node, axes, self.example_inputs, position,
                            input_positions(self.graph, image) if image is not None else None)

    # -- what-ifs: copies and rewrites the rule makes, measured the same way -------------------------

    def copy_model(self) -> nn.Module:
        """A deep copy of the model for what-if measurements (the user's model is never touched)."""
        self.require_values("this measurement")
        return copy.deepcopy(self.model)

    def copy_sharing_large_weights(self) -> nn.Module:
        """A copy whose weights above the copy limit are shared with the model, read only: give a weight you
        change its own storage first."""
        self.require_values("this measurement")
        return copy_sharing_large_weights(self.model)

    def probe_copy(self, model_copy: nn.Module) -> ProbeResult:
        """The probe's weight gradients measured on a copy the rule changed (same inputs, seed and loss as
        `probe()`); runs `model_copy` itself, which the rule owns."""
        return self.analyses.probe_copy(model_copy)

    def fixed(self, change: Change) -> FixedModel:
        """The model with `change` applied to a copy and verified (builds, runs the example input, same output
        shapes and dtypes), traced, with analyses of its own: measure the fix's effect on `.graph` / `.analyses`
        with the code that measured the model as it is. Raises MeasurementUnavailable saying why it did not verify."""
        return self.analyses.fixed(change)

    def fixed_or_none(self, change: Change | None) -> FixedModel | None:
        """`fixed(change)`, or None when there is no change to run or it did not verify (the runner then says why in
        the finding): a rule prints an after-number only from what this returns."""
        if change is None:
            return None
        try:
            return self.fixed(change)
        except MeasurementUnavailable:
            return None

    def race(self, change: Change, task: RaceTask = RaceTask.TRAINABILITY) -> Race:
        """A short training race of the model as it is against the verified fixed copy for `change` (`--race`): the
        strongest evidence a rule about training has. Raises MeasurementUnavailable when no race was asked for, the
        fix did not verify, or the race did not fit its budget."""
        # a rule races before the runner knows how many fixes will race after it: it takes half of what is left
        return self.analyses.race(change, pending=2, label=self.model_name, task=task)

    def graph_gradients(self, names: Sequence[str], rewritten: fx.GraphModule | None = None
                        ) -> tuple[dict[str, NodeGradient], str]:
        """The backward signal δ at the named graph nodes, and the method as a sentence: on the traced graph
        (run on a copy), or on `rewritten`, a rewrite of a copy the rule owns (run as it is). Cached by the
        graph module and the names."""
        return self.analyses.graph_gradients(rewritten if rewritten is not None else self.graph_module, names,
                                             owned=rewritten is not None)


__all__ = ["CheckContext", "MeasurementUnavailable"]

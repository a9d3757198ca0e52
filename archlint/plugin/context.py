"""What a rule receives: the model, its graph, example inputs, its options and the shared analyses."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, TypeVar

if TYPE_CHECKING:
    from torch import nn

    from archlint.analysis.graph import ArchGraph
    from archlint.analysis.probe import ProbeResult
    from archlint.analysis.shared import ModelAnalyses
    from archlint.load.provenance import InitRecord

T = TypeVar("T")


class MeasurementUnavailable(Exception):
    """A measurement cannot be made on this run (e.g. --no-probe, meta device); the message says why."""


@dataclass
class CheckContext:
    """Read-only view of one model for rules.

    Rules must not modify `model`: measure on `copy_model()` or through `probe()`. Measurements that
    several rules need are typed methods of `analyses` (receptive fields, MACs, the probe, the backward
    signal at graph nodes), computed once per model whichever rule asks first.
    """

    model_name: str
    model: "nn.Module"
    graph: "ArchGraph"
    example_inputs: tuple[Any, ...]
    analyses: "ModelAnalyses"
    options: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    probe_enabled: bool = True
    show_all: bool = False
    tracer: str = "fx"
    cache: dict[str, Any] = field(default_factory=dict)

    def for_rule(self, options: dict[str, Any]) -> "CheckContext":
        return replace(self, options=options)

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """A rule's own per-model memo (shared analyses live on `analyses`); a MeasurementUnavailable is
        remembered too, so it is raised again."""
        if key not in self.cache:
            try:
                self.cache[key] = compute()
            except MeasurementUnavailable as exc:
                self.cache[key] = exc
        value = self.cache[key]
        if isinstance(value, MeasurementUnavailable):
            raise value
        return value

    def require_values(self, what: str) -> None:
        """Raise MeasurementUnavailable if weights have no values (meta device)."""
        self.analyses.require_values(what)

    def init_provenance(self, param_name: str) -> "InitRecord | None":
        """How parameter `param_name` (e.g. "fc.weight") was last written while the model was built.

        Works on any device, and is the only value information on the meta device: `record.constant`
        is True for zeros_/ones_/fill_/constant_/torch.zeros..., False for random initialisers, None if
        unknown; `record.value` is the constant when known; `record.file/line` the user's init call.
        None when the model was built outside archlint (e.g. `archlint.check(model)`) or nothing was seen.
        """
        return self.analyses.init_provenance(param_name)

    def copy_model(self) -> "nn.Module":
        """A deep copy of the model for what-if measurements (the user's model is never touched)."""
        self.require_values("this measurement")
        return copy.deepcopy(self.model)

    def probe(self) -> "ProbeResult":
        """The shared forward/backward probe (computed once per model); see archlint.analysis.probe."""
        return self.analyses.probe()

"""What a rule receives: the model, its graph, example inputs, its options and shared measurements."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from torch import nn

from archlint.graph import ArchGraph

if TYPE_CHECKING:
    from archlint.probe import ProbeResult
    from archlint.provenance import InitRecord

T = TypeVar("T")


class MeasurementUnavailable(Exception):
    """A measurement cannot be made on this run (e.g. --no-probe, meta device); the message says why."""


@dataclass
class CheckContext:
    """Read-only view of one model for rules.

    Rules must not modify `model`: measure on `copy_model()` or through `probe()`. Measurements are
    cached per model in `cache`, so rules asking for the same thing share one computation.
    """

    model_name: str
    model: nn.Module
    graph: ArchGraph
    example_inputs: tuple[Any, ...]
    options: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"
    probe_enabled: bool = True
    show_all: bool = False
    tracer: str = "fx"
    cache: dict[str, Any] = field(default_factory=dict)

    def for_rule(self, options: dict[str, Any]) -> "CheckContext":
        return CheckContext(self.model_name, self.model, self.graph, self.example_inputs, options,
                            self.device, self.probe_enabled, self.show_all, self.tracer, self.cache)

    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """Compute once per model; a MeasurementUnavailable is cached too, so it is raised again."""
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
        if self.device == "meta" or any(p.is_meta for p in self.model.parameters()):
            raise MeasurementUnavailable(f"{what} needs real weights; the model was analysed on the meta device")

    def init_provenance(self, param_name: str) -> "InitRecord | None":
        """How parameter `param_name` (e.g. "fc.weight") was last written while the model was built.

        Works on any device, and is the only value information on the meta device: `record.constant`
        is True for zeros_/ones_/fill_/constant_/torch.zeros..., False for random initialisers, None if
        unknown; `record.value` is the constant when known; `record.file/line` the user's init call.
        None when the model was built outside archlint (e.g. `archlint.check(model)`) or nothing was seen.
        """
        from archlint.provenance import init_record

        try:
            return init_record(self.model.get_parameter(param_name))
        except AttributeError:
            return None

    def copy_model(self) -> nn.Module:
        """A deep copy of the model for what-if measurements (the user's model is never touched)."""
        self.require_values("this measurement")
        return copy.deepcopy(self.model)

    def probe(self) -> "ProbeResult":
        """The shared forward/backward probe (computed once per model); see archlint.probe."""
        if not self.probe_enabled:
            raise MeasurementUnavailable("probe disabled (--no-probe)")
        self.require_values("the probe")
        from archlint.probe import run_probe

        return self.cached("probe", lambda: run_probe(self.model, self.example_inputs))

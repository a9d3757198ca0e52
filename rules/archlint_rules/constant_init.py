"""constant-init (AL101): a weight tensor initialised to one value, leaving its units identical or gradient-less.

What it finds
    Weights of linear layers, convolutions, embeddings, attention projections and user
    `nn.Parameter`s used by matmul/linear whose elements are all equal (zeros, ones, any constant),
    where the probe shows the consequence: the units (output rows/channels) of the layer receive
    identical gradients, so they stay copies of each other, or no gradient reaches the weight at all.

    Biases, norm scales/shifts and layer-scale vectors are not weights of this kind and are never
    checked. A constant weight whose units still receive distinct gradients is not flagged: the
    zero-initialised classifier of torchvision's ViT is such a case (each class row gets its own
    gradient, and the backbone starts learning after the first step).

Why it matters
    Units that start equal compute the same output and, when the gradient arriving at them is equal
    too, get the same update: they remain equal for the whole training, so a layer of 256 units
    behaves like a layer of one. An all-zero weight can also block the signal: with ReLU and zero
    biases every output is 0 and the gradients of the layers around it vanish.

Example
    >>> layer = nn.Linear(64, 32); nn.init.ones_(layer.weight)     # followed by another constant layer

Fix
    Random initialisation scaled for the activation that follows the layer: Kaiming (He) for the
    ReLU family, Xavier (Glorot) with the activation's gain for tanh/sigmoid, Xavier for a layer with
    no activation. The finding prints the call for each weight and measures its effect: the
    number of distinct gradient rows before, and after re-initialising a copy that way (a second
    probe of the copy with the same batch, seed and loss).

When the probe cannot run (`--no-probe`, a model over the probe's memory budget) the values are read
but nothing is measured: a constant weight is reported only when the next parametric layer is
constant too, as below, and a lone zero-initialised head stays clean as it does when measured.

On the meta device no values exist: the rule reads the init provenance (`nn.init.zeros_`,
`fill_`, ...) and flags a constant weight only when the next parametric layer is constant too
(symmetry predicted from the structure); the gradient counts are then unmeasured.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import torch
from torch import nn

from archlint.rulekit import (
    VERIFIED, ArchGraph, CheckContext, Combined, Finding, Fix, LayerNode, MeasurementUnavailable, Metric, Option, ProbeResult,
    Reinitialise, Rule, Severity, hookimpl,
)

_MODULE_WEIGHTS = ("weight", "in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight", "out_proj.weight")
_RELU_FAMILY = ("relu", "relu6", "leaky_relu", "gelu", "silu", "mish", "hardswish", "elu", "selu", "celu", "prelu")


@dataclass(frozen=True)
class WeightSite:
    """A weight tensor of a parametric layer: its parameter name, unit axis and graph node."""

    name: str
    node: LayerNode
    unit_axis: int


def _module_weights(node: LayerNode) -> list[WeightSite]:
    module = node.module
    found = []
    for attr in _MODULE_WEIGHTS:
        owner_attr = attr.rpartition(".")
        owner = getattr(module, owner_attr[0], None) if owner_attr[0] else module
        if owner is None or not isinstance(getattr(owner, owner_attr[2], None), nn.Parameter):
            continue
        axis = 0
        if node.kind == "embedding":
            axis = 1  # an embedding's units are its output features (columns)
        elif node.kind == "conv_transpose" and getattr(module, "groups", 1) == 1:
            axis = 1  # ConvTranspose weights are (in, out, k...)
        prefix = f"{node.module_path}." if node.module_path else ""
        found.append(WeightSite(prefix + attr, node, axis))
    return found


def _functional_weights(node: LayerNode) -> list[WeightSite]:
    sites = []
    for name in node.hparams.get("weights", ()):
        args = list(node.fx_node.args) if node.fx_node is not None else []
        position = next((i for i, a in enumerate(args) if getattr(a, "target", None) == name), 0)
        # x @ W: the units are W's columns; W @ x and F.linear(x, W): its rows
        axis = -1 if node.kind == "matmul" and position >= 1 else 0
        sites.append(WeightSite(str(name), node, axis))
    return sites


def weight_sites(graph: ArchGraph) -> list[WeightSite]:
    """Every weight of a parametric layer, once, at its first use."""
    seen: set[str] = set()
    sites = []
    for node in graph.nodes():
        if not node.is_parametric:
            continue
        for site in (_module_weights(node) if node.op == "call_module" else _functional_weights(node)):
            if site.name not in seen:
                seen.add(site.name)
                sites.append(site)
    return sites


def constant_value(weight: torch.Tensor) -> float | None:
    """The one value of a tensor with more than one element, all equal; else None."""
    if weight.numel() < 2:
        return None
    flat = weight.detach().reshape(-1)
    if not bool((flat[:64] == flat[0]).all()):   # random weights differ at once: no pass over a large tensor
        return None
    return float(flat[0]) if bool((flat == flat[0]).all()) else None


def distinct_units(grad: torch.Tensor, unit_axis: int, tolerance: float) -> int:
    """How many units (slices along unit_axis) have different gradients, up to `tolerance` × max |grad|."""
    rows = grad.detach().double().movedim(unit_axis, 0).reshape(grad.shape[unit_axis], -1)
    scale = float(rows.abs().max())
    if scale == 0:
        return 1
    return int(torch.unique(torch.round(rows / (scale * tolerance)), dim=0).shape[0])


def following_activation(graph: ArchGraph, node: LayerNode) -> str | None:
    """The activation after the layer (through norms, dropout, reshapes), lower-case; None if there is none."""
    acts = graph.nearest(node, ["act"])
    if not acts:
        return None
    return acts[0].type_name.lower().rstrip("_")


def reinitialisation(activation: str | None, kind: str, weight: str) -> Reinitialise:
    """The init that fits the activation after the layer, as a change the engine runs on a copy."""
    if kind == "embedding":
        return Reinitialise(weight, "normal_", "mean=0.0, std=1.0")
    if activation and activation.startswith("leaky"):
        return Reinitialise(weight, "kaiming_normal_", "nonlinearity='leaky_relu'")
    if activation and activation.startswith(_RELU_FAMILY):
        return Reinitialise(weight, "kaiming_normal_", "nonlinearity='relu'")
    if activation in ("tanh", "sigmoid"):
        return Reinitialise(weight, "xavier_uniform_", f"gain=nn.init.calculate_gain({activation!r})")
    return Reinitialise(weight, "xavier_uniform_")


def _fix_of(change: Reinitialise) -> Fix:
    return Fix("Initialise it randomly, scaled for the layer's activation.", change.snippet(), change)


@dataclass
class Measured:
    site: WeightSite
    value: float
    distinct: int
    units: int
    grad_norm: float | None           # None: no gradient reached the weight


def _measure_site(site: WeightSite, value: float, probe: ProbeResult, weight: torch.Tensor, tolerance: float) -> Measured:
    units = int(weight.shape[site.unit_axis])
    grad = probe.grads.get(site.name)
    if grad is None:
        return Measured(site, value, 0, units, None)
    return Measured(site, value, distinct_units(grad, site.unit_axis, tolerance), units, float(grad.double().norm()))


def _symmetry_causes(graph: ArchGraph, measured: list[Measured], problems: list[Measured]) -> dict[str, Measured]:
    """Constant weights right after a layer with identical units: they make its backward signal identical."""
    by_node = {m.site.node.name: m for m in measured}
    causes: dict[str, Measured] = {}
    for victim in problems:
        if victim.grad_norm is None or victim.distinct >= victim.units:
            continue
        for nxt in graph.nearest(victim.site.node, ["conv", "conv_transpose", "linear", "embedding", "attention",
                                                   "matmul"],
                                 through=("act", "dropout", "identity", "norm", "reshape", "flatten", "pool",
                                          "adaptive_pool")):
            if nxt.name in by_node:
                causes.setdefault(by_node[nxt.name].site.name, victim)
    return causes


def _is_problem(m: Measured) -> bool:
    return m.grad_norm is None or m.grad_norm == 0 or (m.units > 1 and m.distinct < m.units)


def _constant_successor(graph: ArchGraph, site: WeightSite, constant: set[str],
                        sites: list[WeightSite]) -> LayerNode | None:
    """The next parametric layer after `site` when every one that follows has only constant weights: then the
    units of `site` are predicted to get identical gradients; None otherwise."""
    weights: dict[str, list[str]] = {}
    for s in sites:
        weights.setdefault(s.node.name, []).append(s.name)
    nxt = graph.nearest(site.node, ["conv", "conv_transpose", "linear", "embedding", "attention", "matmul"],
                        through=("act", "dropout", "identity", "norm", "reshape", "flatten", "pool",
                                 "adaptive_pool", "other"))
    following = [n for n in nxt if n.is_parametric]
    if following and all(weights.get(n.name) and all(w in constant for w in weights[n.name]) for n in following):
        return following[0]
    return None


class ConstantInit(Rule):
    code = "AL101"
    name = "constant-init"
    summary = "a weight initialised to one constant: its units get identical (or no) gradients"
    severity = Severity.ERROR
    options = (Option("tolerance", 1e-8, "relative gradient difference below which two units count as identical"),)

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        # a vector read by a product is a per-channel scale (norm gamma, layer scale), not a layer of units
        # that could be symmetric: ones there are the standard, deliberate init
        sites = [s for s in weight_sites(ctx.graph) if ctx.model.get_parameter(s.name).dim() >= 2]
        if ctx.device == "meta" or any(p.is_meta for p in ctx.model.parameters()):
            yield from self._check_meta(ctx, sites)
            return
        constants = []
        for site in sites:
            value = constant_value(ctx.model.get_parameter(site.name))
            if value is not None:
                constants.append((site, value))
        if not constants:
            return
        try:
            probe = ctx.probe()
        except MeasurementUnavailable as exc:
            # nothing measured: as on the meta device, only a constant layer feeding another constant one is
            # predicted symmetric (a lone zero-initialised head, as in torchvision's ViT, learns normally)
            names = {site.name for site, _ in constants}
            for site, value in constants:
                following = _constant_successor(ctx.graph, site, names, sites)
                if following is not None:
                    yield self._unmeasured(site, value, following, f"gradients not measured ({exc}): the identical "
                                                                   f"units are predicted from the structure")
            return
        tolerance = float(ctx.options["tolerance"])
        measured = [_measure_site(s, v, probe, ctx.model.get_parameter(s.name), tolerance) for s, v in constants]
        problems = [m for m in measured if _is_problem(m)]
        if not problems:
            return
        causes = _symmetry_causes(ctx.graph, measured, problems)
        change, after, why = self._after_reinit(ctx, measured, tolerance)
        for m in measured:
            if m in problems or m.site.name in causes:
                victim = causes.get(m.site.name) if not _is_problem(m) else None
                counted = victim or m  # a cause is judged by the units it makes identical upstream
                yield self._finding(ctx, m, probe, change, after.get(counted.site.name), why, victim)

    # -- measured on CPU -------------------------------------------------------------------------
    def _after_reinit(self, ctx: CheckContext, constants: list[Measured], tolerance: float
                      ) -> tuple[Reinitialise | Combined, dict[str, Measured], str | None]:
        """The fix: every constant weight re-initialised as its activation calls for (one change, shared by the
        findings), run on a verified copy that the probe measures the same way."""
        parts = tuple(reinitialisation(following_activation(ctx.graph, m.site.node), m.site.node.kind, m.site.name)
                      for m in constants)
        change: Reinitialise | Combined = parts[0] if len(parts) == 1 else Combined(parts)
        try:
            fixed = ctx.fixed(change)
            # only the weight gradients are compared: the eval passes and the pass without dropout are never read
            probe = fixed.analyses.probe()
        except MeasurementUnavailable as exc:
            return change, {}, f"effect of re-initialising not measured: {exc}"
        return change, {m.site.name: _measure_site(m.site, m.value, probe, fixed.model.get_parameter(m.site.name),
                                                   tolerance) for m in constants}, None

    def _finding(self, ctx: CheckContext, m: Measured, probe: ProbeResult, change: Reinitialise | Combined,
                 after: Measured | None, why: str | None, victim: Measured | None = None) -> Finding:
        node = m.site.node
        activation = following_activation(ctx.graph, node)
        if victim is not None and not _is_problem(m):
            consequence = (f"it sends the same gradient back to every unit of `{victim.site.name}`, whose {victim.units} "
                           f"units receive only {victim.distinct} distinct gradient(s)")
        elif m.grad_norm is None:
            consequence = "no gradient reaches it"
        elif m.grad_norm == 0:
            consequence = "its gradient is exactly zero: the signal through it is dead"
        else:
            consequence = (f"its {m.units} units receive only {m.distinct} distinct gradient(s), so they stay "
                           f"copies of each other ({m.distinct} effective unit(s))")
        message = (f"`{m.site.name}` ({node.type_name}, shape {list(ctx.model.get_parameter(m.site.name).shape)}) "
                   f"is constant: every element is {m.value:g}; {consequence}")
        record = ctx.init_provenance(m.site.name)
        if record is not None and record.file:
            message += f" (set by {record.op} at {record.file}:{record.line})"
        followed = f"followed by {activation}" if activation else "with no activation after it"
        others = len(change.changes) - 1 if isinstance(change, Combined) else 0
        counted = victim or m
        effect = [Metric(f"distinct gradient units of `{counted.site.name}`", f"{counted.distinct}/{counted.units}",
                         f"{after.distinct}/{after.units}" if after else None, "units",
                         f"{probe.method}; units = slices of the weight along axis {counted.site.unit_axis}, equal when they "
                         f"differ by ≤ {ctx.options['tolerance']} × max |grad|"
                         + (f"; {VERIFIED} (every constant weight re-initialised as suggested)" if after else "")),
                  Metric(f"gradient norm of `{counted.site.name}`",
                         None if counted.grad_norm is None else float(f"{counted.grad_norm:.6g}"),
                         None if after is None or after.grad_norm is None else float(f"{after.grad_norm:.6g}"), "",
                         f"{probe.method}; ‖∇W‖ (None: no gradient)"
                         + (f"; {VERIFIED} (every constant weight re-initialised as suggested)" if after else ""))]
        together = f", with the model's {others} other constant weight(s) as the snippet shows" if others else ""
        return Finding.at(node, self.code, message,
                          fix=Fix(f"Initialise `{m.site.name}` randomly, scaled for the layer ({followed}){together}.",
                                  change.snippet(), change),
                          effect=tuple(effect), unmeasured=(why,) if why else ())

    def _unmeasured(self, site: WeightSite, value: float, following: LayerNode, why: str) -> Finding:
        return Finding.at(site.node, self.code,
                          f"`{site.name}` is constant (every element is {value:g}), and so is the next layer "
                          f"`{following.display_name}`: its units are predicted to receive "
                          f"identical gradients",
                          fix=_fix_of(reinitialisation(None, site.node.kind, site.name)),
                          unmeasured=(why,))

    # -- meta device: provenance and structure only -----------------------------------------------
    def _check_meta(self, ctx: CheckContext, sites: list[WeightSite]) -> Iterable[Finding]:
        records = {s.name: ctx.init_provenance(s.name) for s in sites}
        constant = {name for name, r in records.items() if r is not None and r.constant is True}
        for site in sites:
            following = _constant_successor(ctx.graph, site, constant, sites) if site.name in constant else None
            if following is None:
                continue  # a single constant layer before a random one still gets distinct gradients
            record = records[site.name]
            assert record is not None
            value = "" if record.value is None else f" (every element {record.value:g})"
            where = f" at {record.file}:{record.line}" if record.file else ""
            yield Finding.at(site.node, self.code,
                             f"`{site.name}` is initialised to a constant by {record.op}{where}{value}, and so is the "
                             f"next layer `{following.display_name}`: its units are predicted "
                             f"to receive identical gradients",
                             fix=_fix_of(reinitialisation(following_activation(ctx.graph, site.node), site.node.kind,
                                                          site.name)),
                             unmeasured=("model analysed on the meta device: no weights to run, so the distinct "
                                         "gradient units were predicted from the structure, not measured",))


@hookimpl
def archlint_rules() -> list[Rule]:
    return [ConstantInit()]

"""gradient-flow (AL801-AL805): parameters the gradient does not reach, or reaches badly.

What it finds (measured by the probe: one train-mode forward/backward pass on a copy)
    AL801  parameters that receive no gradient at all: whose output reaches the loss only through
           `.detach()`, `torch.no_grad()` or an integer cast (error); or that no operation of the
           forward reads: a module forward never calls (error), or a parameter used only when an
           optional forward argument is given, such as a mask token (info, naming the argument).
    AL802  vanishing or exploding gradients: the norm of the weight gradient of the first layer
           of a role divided by that of the last layer of the same role (same kind and weight
           shape: a transformer's qkv projections, a CNN's 3×3 convs of one width; the role that
           spans most of the depth) is below `vanishing_ratio` (1e-3) or above `exploding_ratio`
           (70), the bounds the AUTOTRAINER study used. Only a model without repeated layers
           compares its first and last parametric layers. Exploding is only judged on models
           without normalisation layers (see Known limits).
    AL803  dead ReLU units: a unit (channel, or feature) whose output is zero for every sample and
           position of the probe batch; flagged when more than `dead_share` of a layer's units are
           dead and each unit was observed at least `min_observations` times.
    AL804  saturated sigmoid/tanh: more than `saturated_share` of the pre-activations lie beyond
           ±5, where the derivative is below 0.007 (sigmoid) or 2e-4 (tanh).
    AL805  NaN or infinite values in the probe's outputs or weight gradients (a diverged checkpoint,
           a log of zero): reported once, at the first layer whose output is not finite; every other
           probe-based effect of the model is withheld with that reason.

Why it matters
    Backpropagation multiplies the error signal by every layer's Jacobian on the way back. A
    parameter off that path never learns; a product of many small (or large) factors makes early
    layers learn orders of magnitude slower (or diverge); a ReLU unit that is never positive passes
    no gradient and never recovers; a saturated sigmoid/tanh passes almost none.

Example
    >>> nn.Sequential(*[nn.Sequential(nn.Linear(64, 64), nn.Sigmoid()) for _ in range(12)], nn.Linear(64, 10))
    twelve sigmoid layers: the first layer's gradient is ~1e-7 of the last one's.

Fix
    AL801: use the module or remove it; remove the `.detach()` / `no_grad()` / integer cast from the
    path. AL802: residual connections and normalisation layers, ReLU-family activations, Kaiming
    or Xavier initialisation; for exploding gradients a smaller initial scale and gradient clipping.
    AL803: Kaiming initialisation with zero biases, a smaller learning rate, or LeakyReLU. AL804:
    normalise before the activation and use Xavier initialisation (or a ReLU-family activation).

    The fixes that are a change of the model run on a verified copy and are measured there by the
    same probe: AL801's unused module deleted (parameters without gradient after), AL803's and
    AL804's re-initialisation of the layer before the activation (dead units, saturated share
    after). A cut in forward's code (AL801) and AL802's choice between shortcuts, norms,
    activations and initialisation have no mechanical fix; the finding says so.

Known limits
    AL802 compares weight-gradient norms, the quantity an optimiser step is made of. In a network
    with BatchNorm/LayerNorm a layer's output does not depend on its weight scale, so its weight
    gradient scales with 1/‖W‖ and with the size of the map it normalises: an untrained ResNet-50
    reads 71 first-conv/last-fc at 64×64 (batch 2), MobileNetV2 18, while training them is stable.
    So the exploding side is judged only on models without normalisation; vanishing is judged on
    all. A patch embedding against a classifier head compares layers of different size and role:
    BEiT read 1e-4 that way at init ("vanishing") and reads 3.2 like with like (qkv of block 0 /
    qkv of block 11). Designed-in gates are not vanishing gradients: a layer scale initialised at
    1e-5 (CaiT, ViTs with LayerScale), a ReZero scalar or a zero-initialised residual gate scales
    the gradient of everything below it on purpose, and grows as the model trains. When the ratio
    is out of bounds and the model has such gates (small parameters that multiply a branch), the
    ratio is measured again on a copy with every gate set to 1, and that measurement, layers on
    equal footing, is the verdict: a CaiT-like model of the tests (layer scale 1e-5, class attention)
    reads 7.7e-6 with its gates and 0.95 with them at 1. A role must hold at least 1% of the weights of the repeated layers: CBAM's
    1×2×7×7 spatial-gate convs do not depend on the width, so they repeat through every stage while
    holding 0.01% of CSATv2's weights, and read 4e-4 (their gradient follows the gate, not the
    depth). Like with like, 64×64, batch 2: VGG-16 0.87 (512×512 3×3 convs), ResNet-50
    4.8, DenseNet-121 45, EfficientNet-B0 1.6, MobileNetV2 1.5, AlexNet 0.091 (no repeated layer:
    first/last); the sigmoid MLP example 6.4e-8. Scaling every layer alike does not move the
    ratio (a weight gradient is δ ⊗ input, and the two scalings cancel). A per-element backward signal (RMS of ∂L/∂output) was tried and
    rejected: it is diluted by a layer's spatial size, so a 3-layer CNN with global pooling read
    7e-4 ("vanishing"). Nothing is judged when a BatchNorm normalises fewer than
    `min_batchnorm_values` values per channel in the probe batch (ResNet-50 at 32×32, batch 2,
    normalises 2 values per channel in its last stage).

Why dead-share defaults to 0.5
    With PyTorch's default init a plain ReLU stack without normalisation already has a third to a
    half of its units silent over a small batch (measured 34-53% in a 6-layer MLP, 35% in a conv
    stack), and such units can revive as the layers below them learn.
"""
from __future__ import annotations

import ast
import inspect
import math
import textwrap
from typing import Iterable

import torch
from torch import nn

from archlint.rulekit import (
    VERIFIED, ActivationStats, ArchGraph, CheckContext, Combined, Finding, Fix, LayerGradient, LayerNode,
    MeasurementUnavailable, Metric, NonFiniteValues, Option, ProbeResult, Reinitialise, RemoveModule, Rule,
    SATURATION_BOUND, Severity, hookimpl, is_norm,
)
from archlint.rulekit.provisional import DEFAULT_MAX_BATCH, construction_site, own_parameter


def activation_node(graph: ArchGraph, stats: ActivationStats) -> LayerNode | None:
    """The graph node of one recorded activation call (module call, or the n-th functional call in a module)."""
    if stats.is_module:
        nodes = graph.by_module(stats.module_path)
    else:
        wanted = stats.function.rstrip("_")
        nodes = [n for n in graph.nodes("act") if n.op != "call_module" and n.module_path == stats.module_path
                 and n.type_name.rstrip("_") == wanted]
    if not nodes:
        return None
    return nodes[stats.call] if stats.call < len(nodes) else nodes[-1]


def _finding_at(graph: ArchGraph, node: LayerNode | None, module_path: str, code: str, message: str,
                **kwargs: object) -> Finding:
    if node is not None:
        return Finding.at(node, code, message, **kwargs)  # type: ignore[arg-type]
    module = graph.model.get_submodule(module_path) if graph.model is not None and module_path else None
    site = construction_site(module) if module is not None else None
    return Finding(code=code, message=message, module=module_path, file=site.file if site else None,
                   line=site.line if site else None, **kwargs)  # type: ignore[arg-type]


def small_batchnorm(graph: ArchGraph, min_values: int) -> list[LayerNode]:
    """BatchNorm calls that normalise fewer than `min_values` values per channel in the probe batch."""
    small = []
    for node in graph.nodes("norm"):
        shape = node.in_shapes[0] if node.in_shapes else None
        if is_norm(node, batch=True) and shape is not None and len(shape) >= 2:
            values = min(int(shape[0]), DEFAULT_MAX_BATCH) * math.prod(int(s) for s in shape[2:])
            if values < min_values:
                small.append(node)
    return small


def gradientless_modules(probe: ProbeResult) -> dict[str, list[str]]:
    """Highest module whose trainable parameters all got no gradient -> those parameter names."""
    missing = [n for n, g in probe.grads.items() if g is None]
    has_grad = [n for n, g in probe.grads.items() if g is not None]
    groups: dict[str, list[str]] = {}
    for name in missing:
        owner = name.rpartition(".")[0]
        parts = owner.split(".") if owner else []
        top = owner
        for i in range(len(parts) - 1, 0, -1):
            candidate = ".".join(parts[:i])
            if any(h.startswith(candidate + ".") for h in has_grad):
                break
            top = candidate
        groups.setdefault(top, []).append(name)
    return groups


_MIN_ROLE_SHARE = 0.01   # of the weights of the repeated layers
_GATE_PATH = ("reshape", "other", "identity")   # getitem, expand, view between a gate and its multiplication
_MAX_GATE_VALUES = 1 << 14


def designed_gates(graph: ArchGraph, model: nn.Module, module_calls_only: bool = False) -> list[str]:
    """Parameters that scale a branch by design (layer scale, ReZero, zero-initialised residual gates): small
    parameters no torch layer owns (a scalar, or one value per channel), set to one constant at initialisation, that
    multiply another tensor. A graph of module calls only has no multiplications: there the first three tests say."""
    candidates = []
    for owner in model.modules():
        if type(owner).__module__.startswith("torch."):
            continue   # a torch layer's own weights and biases are not gates
        for attribute, weight in owner.named_parameters(recurse=False):
            flat = weight.detach().reshape(-1)
            if 0 < weight.numel() <= _MAX_GATE_VALUES and sum(s > 1 for s in weight.shape) <= 1 \
                    and not weight.is_meta and bool((flat == flat[0]).all()):
                candidates.append(weight)
    names = {id(w): n for n, w in model.named_parameters()}
    if module_calls_only:
        return [names[id(w)] for w in candidates]
    gated = []
    for node in graph.nodes("param"):
        target = str(node.fx_node.target) if node.fx_node is not None and node.op == "get_attr" else None
        if target is None or not any(names.get(id(w)) == target for w in candidates):
            continue
        reached, frontier = [], [node]
        for _ in range(3):
            following = [s for n in frontier for s in graph.successors(n) if s.kind != "shape"]
            reached += [s for s in following if s.kind == "mul"]
            frontier = [s for s in following if s.kind in _GATE_PATH]
        if reached:
            gated.append(target)
    return gated


def _unused_by(module: nn.Module, attribute: str) -> str | None:
    """The optional forward argument of `module` (a parameter with a default) under whose `if` the forward reads
    `self.<attribute>`: `mask` for `if mask is not None: x = where(mask, self.mask_token, x)`. None if none does."""
    try:
        source = textwrap.dedent(inspect.getsource(type(module).forward))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        return None
    function = tree.body[0]
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    defaults = function.args.defaults
    optional = {a.arg for a in function.args.args[len(function.args.args) - len(defaults):]}
    optional |= {a.arg for a, d in zip(function.args.kwonlyargs, function.args.kw_defaults) if d is not None}
    for branch in (n for n in ast.walk(function) if isinstance(n, ast.If)):
        tested = {n.id for n in ast.walk(branch.test) if isinstance(n, ast.Name)} & optional
        reads = any(isinstance(n, ast.Attribute) and n.attr == attribute and isinstance(n.value, ast.Name)
                    and n.value.id == "self" for part in branch.body for n in ast.walk(part))
        if tested and reads:
            return sorted(tested)[0]
    return None


def _read_parameters(graph: ArchGraph, model: nn.Module) -> set[int]:
    """Ids of the parameters some operation of the traced forward reads (as a weight, or a module's own)."""
    read: set[int] = set()
    for node in graph.nodes():
        if node.op == "get_attr" and node.fx_node is not None:
            try:
                read.add(id(model.get_parameter(str(node.fx_node.target))))
            except (AttributeError, KeyError):
                continue
        elif node.op == "call_module" and node.module is not None:
            read.update(id(p) for p in node.module.parameters())
    return read


def _like_with_like(model: nn.Module, reached: list[LayerGradient]) -> tuple[LayerGradient, LayerGradient, str]:
    """The two layers whose weight gradients are compared: the first and last of one role (same kind and weight
    shape: a transformer's qkv projections, an MLP's hidden layers), the role spanning most of the depth. A
    patch embedding and a classifier head differ in size and role, so their ratio says nothing about depth;
    only a model with no repeated layer falls back to its first and last parametric layers."""
    groups: dict[tuple[str, tuple[int, ...]], list[LayerGradient]] = {}
    for layer in reached:
        groups.setdefault((layer.kind, _weight_shape(model, layer.weight)), []).append(layer)
    repeated = [(role, members) for role, members in groups.items() if len(members) >= 2]
    if not repeated:
        return reached[0], reached[-1], "the first and last parametric layers"
    # a role must carry weight in the model: a width-independent shape (CBAM's 1×2×7×7 spatial-gate convs) repeats
    # through every stage while holding a negligible share of the parameters, and its gradient follows its gate
    total = sum(math.prod(shape) * len(members) for (_, shape), members in repeated)
    substantial = [(role, members) for role, members in repeated
                   if math.prod(role[1]) * len(members) >= _MIN_ROLE_SHARE * total]
    repeated = substantial or repeated
    depth = {id(layer): index for index, layer in enumerate(reached)}
    (kind, shape), members = max(repeated, key=lambda item: depth[id(item[1][-1])] - depth[id(item[1][0])])
    # one shape can hold several places of a repeated block (a transformer's query, key, value and output projections):
    # then compare a place with itself, first block against last, not one block's query with another's output
    # projection (at initialisation near-uniform attention passes little gradient back to queries and keys)
    places: dict[str, list[LayerGradient]] = {}
    for layer in members:
        places.setdefault(".".join("#" if p.isdigit() else p for p in layer.layer.split(".")), []).append(layer)
    repeated_places = [group for group in places.values() if len(group) >= 2]
    if len(repeated_places) >= 2:
        members = max(repeated_places, key=lambda group: depth[id(group[-1])] - depth[id(group[0])])
    return members[0], members[-1], (f"the first and last of {len(members)} {kind} layers with weight shape "
                                     f"{'×'.join(map(str, shape))}, like with like")


def _weight_shape(model: nn.Module, name: str) -> tuple[int, ...]:
    try:
        return tuple(model.get_parameter(name).shape)
    except (AttributeError, KeyError):
        return ()


class GradientFlow(Rule):
    code = "AL801"
    name = "gradient-flow"
    summary = "parameters that get no, vanishing, exploding or saturated gradients"
    severity = Severity.WARNING
    codes = {
        "AL802": "vanishing or exploding gradient: first/last layer gradient norm ratio out of bounds",
        "AL803": "dead ReLU units: zero for every sample of the probe batch",
        "AL804": "saturated sigmoid/tanh: pre-activations beyond ±5",
        "AL805": "NaN or infinite values in the probe's forward or backward pass",
    }
    options = (
        Option("vanishing_ratio", 1e-3, "first/last gradient norm ratio below which gradients vanish"),
        Option("exploding_ratio", 70.0, "first/last gradient norm ratio above which gradients explode"),
        Option("dead_share", 0.5, "share of dead units in a layer above which it is flagged"),
        Option("min_observations", 16, "samples x positions per unit needed to call a unit dead"),
        Option("saturated_share", 0.2, "share of pre-activations beyond ±5 above which a layer is flagged"),
        Option("min_batchnorm_values", 8, "AL802 is not judged when a BatchNorm normalises fewer values per channel"),
    )

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        try:
            probe = ctx.probe()
        except NonFiniteValues as exc:
            yield self._non_finite(ctx, exc)
            return
        except MeasurementUnavailable as exc:
            if ctx.show_all:
                yield Finding(code=self.code, message="gradient flow not checked", severity=Severity.INFO,
                              unmeasured=(f"gradient flow needs the probe: {exc}",))
            return
        yield from self._no_gradient(ctx, probe)
        yield from self._ratio(ctx, probe)
        yield from self._dead_units(ctx, probe)
        yield from self._saturation(ctx, probe)

    # AL805 ----------------------------------------------------------------------------------------
    def _non_finite(self, ctx: CheckContext, exc: NonFiniteValues) -> Finding:
        nodes = ctx.graph.by_module(exc.layer) if exc.layer else []
        where = f"`{exc.layer}` is the first layer whose output is" if exc.layer else "the model's values are"
        message = (f"{where} NaN or infinite in the probe's train pass ({exc.share:.1%} of its {exc.stage}): "
                   "no gradient-based measurement of this model means anything until that is fixed")
        effect = (Metric(f"share of non-finite values in the {exc.stage}", round(exc.share, 6), None, "share",
                         f"probe: train-mode forward/backward on a copy, batch ≤ {DEFAULT_MAX_BATCH}, seed 0; the first "
                         "layer found with forward hooks on a second pass"),)
        fix = Fix("Find what makes the values non-finite: NaN or infinite weights (a bad checkpoint or init), a "
                  "division or log of zero, an overflowing exp or half-precision range.",
                  f"# check: torch.isfinite(model.get_submodule({exc.layer!r}).weight).all()" if exc.layer else
                  "# check: all(torch.isfinite(p).all() for p in model.parameters())")
        unmeasured = ("every probe-based effect of the other rules is withheld for this model, with this reason",)
        if nodes:
            return Finding.at(nodes[0], "AL805", message, severity=Severity.ERROR, fix=fix, effect=effect,
                              unmeasured=unmeasured)
        return Finding("AL805", message, severity=Severity.ERROR, fix=fix, effect=effect, unmeasured=unmeasured)

    # AL801 ----------------------------------------------------------------------------------------
    def _no_gradient(self, ctx: CheckContext, probe: ProbeResult) -> Iterable[Finding]:
        graph = ctx.graph
        read = _read_parameters(graph, ctx.model) if not ctx.module_calls_only else None
        for owner, names in gradientless_modules(probe).items():
            count = sum(ctx.model.get_parameter(n).numel() for n in names)
            nodes = [n for n in graph.nodes() if owner and (n.module_path == owner or n.module_path.startswith(owner + "."))]
            unread = read is not None and not any(id(ctx.model.get_parameter(n)) in read for n in names)
            if read is None:   # a graph of module calls only: a module not called is unused, a bare parameter unknown
                unread = bool(owner) and not nodes
            detaches = [n for n in graph.nodes("detach")
                        if nodes and any(n.name in graph.descendants(x) for x in nodes[:1])]
            severity = Severity.ERROR
            shown = owner or names[0] if len(names) == 1 else owner or "<model>"
            change = None
            no_fix = "no automatic fix: the cut is in forward's code, which archlint does not rewrite"
            if unread:   # the module holding the parameter, and the name it holds it by (`embeddings`, `mask_token`)
                holder, _, attribute = names[0].rpartition(".") if len(names) == 1 else (owner, "", "")
                argument = _unused_by(ctx.model.get_submodule(holder), attribute) if attribute else None
                if argument is not None:
                    severity = Severity.INFO
                    cause = (f"no operation of this forward reads it: it is used only when the optional argument "
                             f"`{argument}` is given, which this input does not")
                    fix = Fix(f"Nothing to fix if `{argument}` is given in training; lint with it (example_inputs() "
                              f"returning it) to check that path.", f"# example_inputs(): (x, {argument})")
                    no_fix = "nothing to fix in the model: the path is used with another input"
                else:
                    cause = "no operation of the forward reads it (an unused module or parameter)"
                    change = RemoveModule(owner if owner and len(names) > 1 or not attribute else names[0])
                    fix = Fix(f"Use `{shown}` in forward, or delete it (its parameters only take memory and optimizer "
                              f"state).", f"{change.snippet()}   # in __init__: remove `self.{shown} = ...`, or use it "
                                          f"in forward", change)
            elif detaches:
                cause = (f"its output reaches the loss only through `{detaches[0].type_name}` "
                         f"(`{detaches[0].display_name}`)")
                fix = Fix("Remove the .detach() on the path from this module to the output.",
                          "y = layer(x)            # not layer(x).detach()")
            else:
                cause = "its output is cut from the loss (torch.no_grad(), .detach(), .data or an integer cast on the path)"
                fix = Fix("Keep the path from this module to the output differentiable.",
                          "# remove `with torch.no_grad():`, `.detach()`, `.data` or `.long()`/`.int()` around its output")
            message = (f"{len(names)} parameter tensor(s) of `{shown}` ({count:,} values) received no "
                       f"gradient: {cause}")
            after, unmeasured = _after_removal(ctx, change, no_fix)
            yield _finding_at(graph, nodes[0] if nodes else None, owner, self.code, message, fix=fix,
                              severity=severity,
                              effect=(Metric("parameters without gradient", count, after, "values",
                                             f"{probe.method}; .grad is None after backward"
                                             + (f"; {VERIFIED} (`{change.path}` removed)" if after is not None
                                                else "")),),
                              unmeasured=unmeasured)

    # AL802 ----------------------------------------------------------------------------------------
    def _ratio(self, ctx: CheckContext, probe: ProbeResult) -> Iterable[Finding]:
        reached = [layer for layer in probe.layers if layer.reached]
        if len(reached) < 2:
            return  # zero or missing gradients are AL801 / constant-init's findings, not a ratio
        if small_batchnorm(ctx.graph, int(ctx.options["min_batchnorm_values"])):
            return  # see "Known limits": BatchNorm over a handful of values makes the gradients meaningless
        first, last, compared = _like_with_like(ctx.model, reached)
        value = first.grad_norm / last.grad_norm
        low, high = float(ctx.options["vanishing_ratio"]), float(ctx.options["exploding_ratio"])
        vanishing = value < low
        exploding = value > high and not ctx.graph.nodes("norm")
        if not (vanishing or exploding):
            return
        gates = designed_gates(ctx.graph, ctx.model, module_calls_only=ctx.module_calls_only)
        ungated = self._ratio_without_gates(ctx, gates, first.weight, last.weight) if gates else None
        if ungated is not None and low <= ungated <= high:
            return  # measurement decides: on equal footing (gates at 1) the gradient reaches the first layer
        word = "vanishing" if vanishing else "exploding"
        message = (f"{word} gradients: `{first.layer}` gets a weight gradient of norm {first.grad_norm:.3g}, "
                   f"`{last.layer}` {last.grad_norm:.3g} ({compared}); ratio {value:.3g} "
                   f"{'<' if vanishing else '>'} {low if vanishing else high:g} over {len(reached)} parametric layers")
        if ungated is not None:
            message += f"; {ungated:.3g} with the model's {len(gates)} designed-in gate(s) set to 1"
        if vanishing:
            fix = Fix("Give the gradient a short route and keep activations well scaled: residual connections, "
                      "normalisation after each layer, ReLU-family activations, Kaiming initialisation.",
                      "y = x + block(x)                       # residual connection\n"
                      "nn.BatchNorm2d(channels)  # or nn.LayerNorm(features) after each layer\n"
                      "nn.init.kaiming_normal_(layer.weight, nonlinearity='relu')")
        else:
            fix = Fix("Shrink the initial scale of the early layers, normalise, and clip gradients while training.",
                      "nn.init.xavier_uniform_(layer.weight)   # or kaiming with the right fan\n"
                      "torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)")
        node = next(iter(ctx.graph.by_module(first.layer)), None)
        yield _finding_at(ctx.graph, node, first.layer, "AL802", message, fix=fix,
                          effect=(Metric(f"weight gradient norm ratio first/last ({compared})",
                                         float(f"{value:.6g}"), None, "",
                                         f"{probe.method}; ‖∇W‖ of `{first.weight}` / ‖∇W‖ of `{last.weight}`"),),
                          unmeasured=("no automatic fix: shortcuts, norms, activations and initialisation each change the "
                                      "ratio, and which the model needs is a design choice; the ratio after one is not "
                                      "measured",))

    def _ratio_without_gates(self, ctx: CheckContext, gates: list[str], first: str, last: str) -> float | None:
        """first/last weight-gradient ratio on a copy whose designed-in gates are all 1; None if not measured."""
        try:
            copy_of = ctx.copy_sharing_large_weights()
            with torch.no_grad():
                for name in gates:
                    own_parameter(copy_of, name).fill_(1.0)
            grads = ctx.probe_copy(copy_of).grads
        except MeasurementUnavailable:
            return None
        before, after = grads.get(first), grads.get(last)
        if before is None or after is None or not float(after.norm()):
            return None
        return float(before.double().norm() / after.double().norm())

    # AL803 ----------------------------------------------------------------------------------------
    def _dead_units(self, ctx: CheckContext, probe: ProbeResult) -> Iterable[Finding]:
        threshold = float(ctx.options["dead_share"])
        minimum = int(ctx.options["min_observations"])
        for stats in probe.activations:
            if stats.family != "relu" or stats.observations < minimum:
                continue
            dead = int((stats.zero_fraction == 1).sum())
            share = dead / stats.units
            if share <= threshold:
                continue
            node = activation_node(ctx.graph, stats)
            producer = ctx.graph.nearest(node, ["conv", "linear", "conv_transpose"], direction="up") if node else []
            layer = producer[0].module_path if producer and producer[0].module_path else "layer"
            message = (f"{dead} of {stats.units} ReLU units ({share:.0%}) after `{layer}` are zero for every sample "
                       f"and position of the probe batch ({stats.observations} observations per unit): they pass no "
                       f"gradient")
            change = _reinitialisation(ctx, producer[0] if producer else None, "kaiming_normal_",
                                       "nonlinearity='relu'")
            fixed = _fixed_activation(ctx, change, stats)
            after = None if fixed is None else int((fixed.zero_fraction == 1).sum())
            how = (f"{probe.method}; a unit is dead if its output is exactly 0 for all {stats.observations} samples x "
                   f"positions of the train pass")
            snippet = (f"{change.snippet()}\n# or: nn.LeakyReLU(0.01) instead of nn.ReLU()" if change else
                       f"nn.init.kaiming_normal_(model.get_submodule({layer!r}).weight, nonlinearity='relu')\n"
                       f"# or: nn.LeakyReLU(0.01) instead of nn.ReLU()")
            yield _finding_at(ctx.graph, node, stats.module_path, "AL803", message,
                              fix=Fix("Initialise the layer before the ReLU with Kaiming and zero biases (a large negative "
                                      "bias or weight scale kills units), or use LeakyReLU.", snippet, change),
                              effect=(Metric("dead ReLU units", dead, after, f"of {stats.units}",
                                             how + (f"; {VERIFIED} (`{layer}` re-initialised)" if after is not None
                                                    else "")),),
                              unmeasured=_unmeasured_reinit(change, after, layer))

    # AL804 ----------------------------------------------------------------------------------------
    def _saturation(self, ctx: CheckContext, probe: ProbeResult) -> Iterable[Finding]:
        threshold = float(ctx.options["saturated_share"])
        for stats in probe.activations:
            if stats.family not in ("sigmoid", "tanh") or stats.saturated_share <= threshold:
                continue
            node = activation_node(ctx.graph, stats)
            producer = ctx.graph.nearest(node, ["conv", "linear", "conv_transpose"], direction="up") if node else []
            layer = producer[0].module_path if producer and producer[0].module_path else "layer"
            message = (f"{stats.saturated_share:.0%} of the pre-activations of this {stats.function} (after `{layer}`) "
                       f"lie beyond ±{SATURATION_BOUND:g}, where it passes almost no gradient")
            change = _reinitialisation(ctx, producer[0] if producer else None, "xavier_uniform_",
                                       f"gain=nn.init.calculate_gain({stats.family!r})")
            fixed = _fixed_activation(ctx, change, stats)
            after = None if fixed is None else round(fixed.saturated_share, 4)
            snippet = (f"{change.snippet()}\n" if change else
                       f"nn.init.xavier_uniform_(model.get_submodule({layer!r}).weight, "
                       f"gain=nn.init.calculate_gain({stats.family!r}))\n")
            snippet += "# and a norm before it, e.g. nn.LayerNorm(features) / nn.BatchNorm2d(channels)"
            yield _finding_at(ctx.graph, node, stats.module_path, "AL804", message,
                              fix=Fix("Normalise before the activation and initialise with Xavier (gain for the "
                                      "activation), or use a ReLU-family activation.", snippet, change),
                              effect=(Metric(f"pre-activations beyond ±{SATURATION_BOUND:g}",
                                             round(stats.saturated_share, 4), after, "share",
                                             f"{probe.method}; share of all input elements of the activation in the "
                                             f"train pass with |x| > {SATURATION_BOUND:g}"
                                             + (f"; {VERIFIED} (`{layer}` re-initialised)" if after is not None
                                                else "")),),
                              unmeasured=_unmeasured_reinit(change, after, layer))


def _after_removal(ctx: CheckContext, change: RemoveModule | None, no_fix: str) -> tuple[int | None, tuple[str, ...]]:
    """Parameters without gradient in the verified copy with the unused module removed (the probe, as before)."""
    fixed = ctx.fixed_or_none(change)
    if change is None:
        return None, (no_fix,)
    if fixed is None:
        return None, ()    # the runner says why the removal did not verify
    try:
        probe = fixed.analyses.probe()
    except MeasurementUnavailable as exc:
        return None, (f"after the fix not measured: {exc}",)
    return sum(fixed.model.get_parameter(n).numel() for n, g in probe.grads.items() if g is None), ()


def _reinitialisation(ctx: CheckContext, producer: LayerNode | None, function: str,
                      arguments: str) -> Reinitialise | Combined | None:
    """The producer's weight drawn again by `function` (and its bias zeroed): the initialisation the activation
    after it calls for."""
    if producer is None or producer.module is None or not isinstance(getattr(producer.module, "weight", None),
                                                                      nn.Parameter):
        return None
    weight = Reinitialise(f"{producer.module_path}.weight", function, arguments)
    if isinstance(getattr(producer.module, "bias", None), nn.Parameter):
        return Combined((weight, Reinitialise(f"{producer.module_path}.bias", "zeros_")))
    return weight


def _fixed_activation(ctx: CheckContext, change: Reinitialise | Combined | None,
                      stats: ActivationStats) -> ActivationStats | None:
    """The same activation call's statistics in the probe of the verified re-initialised copy."""
    fixed = ctx.fixed_or_none(change)
    if fixed is None:
        return None
    try:
        activations = fixed.analyses.probe().activations
    except MeasurementUnavailable:
        return None
    return next((a for a in activations if (a.module_path, a.function, a.call) == (stats.module_path, stats.function,
                                                                                    stats.call)), None)


def _unmeasured_reinit(change: Reinitialise | Combined | None, after: object, layer: str) -> tuple[str, ...]:
    if change is None:
        return (f"no automatic fix: `{layer}` has no weight parameter to re-initialise",)
    if after is None:
        return ("after the fix not measured: the probe of the re-initialised copy did not run",)
    return ()


@hookimpl
def archlint_rules() -> list[Rule]:
    return [GradientFlow()]

"""Lint one model: trace it, build its graph, run every selected rule, collect findings.

The user's model is never changed: RNG states, train/eval flags and requires_grad flags are
restored after the run, and rules measure on copies. A rule that raises becomes an internal-error
finding naming its plugin; every other rule still runs.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import linecache
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import torch
from torch import nn

from archlint.analysis.graph import build_graph
from archlint.analysis.measurement import MeasurementUnavailable
from archlint.analysis.race import RaceSettings
from archlint.analysis.shared import ModelAnalyses
from archlint.load.device import inputs_for, is_meta_model, lazy_layers
from archlint.mechanics.distributed import one_process_group
from archlint.mechanics.errors import describe_exception, user_error_text
from archlint.mechanics.frames import TORCH_DIR, innermost_frame, is_engine_file
from archlint.mechanics.no_gpu import cuda_stays_on_cpu
from archlint.mechanics.profile import phase
from archlint.mechanics.state import preserved_rng, preserved_training_flags
from archlint.mechanics.tensors import WEIGHT_COPY_LIMIT_BYTES, tensors_in
from archlint.plugin.changes import Combined, Reinitialise, ReplaceModule
from archlint.plugin.findings import Finding, Severity
from archlint.plugin.host import PluginHost
from archlint.plugin.results import ErrorKind, ModelReport, Note, NoteKind, TargetCause
from archlint.plugin.rule import Rule
from archlint.rulekit.context import CheckContext
from archlint.run.edits import call_edit, calls_on_line, single_diff
from archlint.run.selection import Selection, effective_severity
from archlint.trace.result import MODULE_CALLS_ONLY, TraceFailure
from archlint.trace.tracers import trace_model

INTERNAL_ERROR_CODE = "AL000"
_SUPPRESSION = re.compile(r"#\s*archlint:\s*ignore(?:\[([^\]]*)\])?")


@dataclass
class RunOptions:
    """Everything about a run that is not the model itself (resolved from config + CLI)."""

    selection: Selection = field(default_factory=Selection)
    severity_overrides: dict[str, str] = field(default_factory=dict)
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)  # rule name -> options
    probe: bool = True
    device: str = "auto"   # cpu | meta | auto (meta above the meta-above parameter count; archlint.load.device)
    show_all: bool = False
    plots: bool = False    # collect ModelReport.plots (a requested format draws them), probe included
    race: RaceSettings | None = None   # train each verified fix against the model as it is (--race)


@contextlib.contextmanager
def preserved_model_state(model: nn.Module) -> Iterator[None]:
    """Restore RNG states, training flags and requires_grad flags, whatever happens inside."""
    requires_grad = {p: p.requires_grad for p in model.parameters()}
    with preserved_rng(), preserved_training_flags(model):
        try:
            yield
        finally:
            for param, flag in requires_grad.items():
                param.requires_grad_(flag)


class TensorWatch:
    """Notices a rule that writes into (or replaces) the model's parameters or buffers, and undoes it.

    In-place writes bump a tensor's version counter, so watching costs nothing per rule. Buffers,
    and weights up to COPY_LIMIT_BYTES, are copied once up front so they can be put back: the user's
    weights survive even a careless third-party rule (a meta model has no values to copy, nor to overwrite).
    """

    def __init__(self, model: nn.Module):
        self.slots = [(module, attr, kind) for module in model.modules()
                      for kind in ("_parameters", "_buffers") for attr, t in getattr(module, kind).items()
                      if t is not None]
        self.names = {id(t): n for n, t in [*model.named_parameters(remove_duplicate=False),
                                            *model.named_buffers(remove_duplicate=False)]}
        self.tensors = [getattr(m, kind)[attr] for m, attr, kind in self.slots]
        unique = {id(t): t for t in self.tensors if not t.is_meta}
        buffers = {id(t) for (_, _, kind), t in zip(self.slots, self.tensors) if kind == "_buffers"}
        weight_bytes = sum(t.numel() * t.element_size() for i, t in unique.items() if i not in buffers)
        keep_weights = weight_bytes <= TensorWatch.COPY_LIMIT_BYTES
        self.saved = {i: t.detach().clone() for i, t in unique.items() if i in buffers or keep_weights}
        self.versions = [t._version for t in self.tensors]

    # Buffers (running stats, counters) are always copied: they are small and a forward may write them.
    # Weights above this size are not copied (it would double a big model's memory and cost most of a
    # lint's time); a rule writing into them is still reported, just not undone.
    COPY_LIMIT_BYTES = WEIGHT_COPY_LIMIT_BYTES

    def restore(self) -> tuple[str, bool] | None:
        """Undo writes since the last call: (names of the touched tensors, whether values were restored)."""
        touched: list[str] = []
        lost: list[str] = []
        for i, ((module, attr, kind), tensor) in enumerate(zip(self.slots, self.tensors)):
            slots = getattr(module, kind)   # a dict, or a scripted module's wrapper (no .get): `in` and [] only
            current = slots[attr] if attr in slots else None
            if current is tensor and tensor._version == self.versions[i]:
                continue
            touched.append(self.names.get(id(tensor), attr))
            getattr(module, kind)[attr] = tensor     # a replaced tensor: put the original object back
            restored = id(tensor) in self.saved
            if restored:
                with torch.no_grad():
                    tensor.copy_(self.saved[id(tensor)])
            else:
                lost.append(touched[-1])
            self.versions[i] = tensor._version
        if not touched:
            return None
        unique = sorted(set(touched))
        return ", ".join(unique[:5]) + (" ..." if len(unique) > 5 else ""), not lost

    def check_untouched(self, who: str, model_name: str) -> list[Finding]:
        """An AL000 finding when `who` (a rule) wrote into the model; the write is undone."""
        change = self.restore()
        if change is None:
            return []
        names, restored = change
        undone = "the original values were restored" if restored else \
            "its weights are too large to keep a copy, so the change could NOT be undone"
        return [Finding(code=INTERNAL_ERROR_CODE, rule="internal-error", severity=Severity.ERROR, model=model_name,
                        message=f"{who} modified the model ({names}); {undone}. "
                                f"Measurements must run on ctx.copy_model()")]

    def note_forward_writes(self, tracer: str) -> list[str]:
        """Tracing runs forward once: a forward that updates buffers in place (counters, caches) is undone."""
        change = self.restore()
        if change is None:
            return []
        names, restored = change
        return [f"tracer {tracer}: forward writes to {names} in place; "
                + ("archlint restored the values" if restored else "its weights are too large to keep a copy, "
                   "so archlint could NOT restore them")]


def _suppressed(finding: Finding) -> bool:
    if not finding.file or not finding.line:
        return False
    match = _SUPPRESSION.search(linecache.getline(finding.file, finding.line))
    if not match:
        return False
    if match.group(1) is None:
        return True
    names = {s.strip() for s in match.group(1).split(",")}
    return finding.code in names or finding.rule in names


def _rule_frame(exc: BaseException) -> str:
    """file:line of the innermost frame outside archlint's engine: the rule's own code, not the runner."""
    frame = innermost_frame(exc.__traceback__, keep=lambda file: not is_engine_file(file) and not file.startswith(TORCH_DIR))
    return f" at {frame.filename}:{frame.lineno}" if frame else ""


def _internal_error(rule: Rule, model_name: str, exc: BaseException, plugin: str = "") -> Finding:
    source = f" from plugin '{plugin}'" if plugin else ""
    return Finding(
        code=INTERNAL_ERROR_CODE, rule="internal-error", severity=Severity.ERROR, model=model_name,
        message=f"rule {rule.code} ({rule.name}){source} crashed: {describe_exception(exc)}"
                f"{_rule_frame(exc)}; other rules still ran",
    )


def run_rule(rule: Rule, ctx: CheckContext, run: RunOptions, plugin: str = "") -> list[Finding]:
    options = {**rule.default_options(), **run.rule_options.get(rule.name, {})}
    results: list[Finding] = []
    try:
        for finding in rule.check(ctx.for_rule(options)) or ():
            if not isinstance(finding, Finding):
                raise TypeError(f"check() yielded {type(finding).__name__}, not a Finding")
            results.append(finding)
    except Exception as exc:
        return [_internal_error(rule, ctx.model_name, exc, plugin)]
    completed = []
    for finding in results:
        if not run.selection.enabled(finding.code, rule):
            continue
        finding = dataclasses.replace(
            finding, rule=rule.name, model=ctx.model_name,
            severity=effective_severity(finding.code, rule, run.severity_overrides)
            if finding.severity is None or finding.code in run.severity_overrides or rule.name in run.severity_overrides
            else finding.severity,
        )
        if not _suppressed(finding):
            completed.append(finding)
    return completed


def describe_inputs(inputs: Sequence[Any]) -> list[list[int]]:
    return [list(x.shape) for x in tensors_in(list(inputs))]   # tensors inside a dict batch count too


def lint_failure(exc: BaseException) -> tuple[str, ErrorKind, TargetCause]:
    """(message, kind) for an exception that escaped a lint: the user's code when its frame is the innermost,
    else an archlint bug, said so with where to report it."""
    if innermost_frame(exc.__traceback__) is not None:
        return f"the model's code raised {user_error_text(exc)} while archlint ran it", ErrorKind.MODEL, TargetCause.MODEL_CODE_RAISED
    return (f"internal error while linting: {describe_exception(exc)} (an archlint bug: run with --debug for "
            "the traceback and please report it)"), ErrorKind.INTERNAL, TargetCause.INTERNAL


def materialized(model: nn.Module, inputs: Sequence[Any]) -> tuple[nn.Module, list[str]]:
    """A model with lazy layers (LazyLinear, LazyConv2d) made concrete by one forward, on a copy: their
    weights take shape at the first call, and the user's model must not be the one that changes."""
    lazy = lazy_layers(model)
    if not lazy:
        return model, []
    concrete = copy.deepcopy(model)
    try:
        with preserved_rng(), preserved_training_flags(concrete), torch.no_grad():
            concrete.eval()
            concrete(*inputs)
    except Exception as exc:
        raise TraceFailure([], f"its lazy layers ({', '.join(lazy[:4])}) take their shapes from a first forward, "
                               f"and that forward raised {user_error_text(exc)}") from exc
    return concrete, [f"lazy layers {', '.join(lazy[:6])} took their shapes from one forward on the example input, "
                      "run on a copy (the model itself is unchanged)"]


def verified(finding: Finding, analyses: ModelAnalyses) -> Finding:
    """The finding with its fix run: applied to a copy and verified (the same copy its rule measured, if it did);
    a fix that does not verify says why in the finding's `unmeasured`."""
    fix = finding.fix
    if fix is None or fix.change is None:
        return finding
    try:
        analyses.fixed(fix.change)
    except MeasurementUnavailable as exc:
        return dataclasses.replace(finding, fix=dataclasses.replace(fix, verified=False),
                                   unmeasured=(*finding.unmeasured, f"the fix was not verified: {exc}"))
    done = dataclasses.replace(finding, fix=dataclasses.replace(fix, verified=True))
    return with_edit(done, analyses)


def raced(findings: list[Finding], analyses: ModelAnalyses, name: str) -> list[Finding]:
    """Each finding with a verified fix gets its race (the model as it is against the fixed copy), as its `race` and a
    "training loss after N steps" effect; a rule that raced its fix itself has done so already."""
    to_race = [i for i, f in enumerate(findings) if f.fix is not None and f.fix.verified and f.race is None]
    done = list(findings)
    # findings sharing a change and a task share a race
    changes = list(dict.fromkeys((findings[i].fix.change, findings[i].fix.race_task) for i in to_race))
    for index in to_race:
        finding = done[index]
        assert finding.fix is not None and finding.fix.change is not None
        pending = len(changes) - changes.index((finding.fix.change, finding.fix.race_task))
        try:
            race = analyses.race(finding.fix.change, pending=pending, label=f"{name} {finding.code}",
                                 task=finding.fix.race_task)
        except MeasurementUnavailable as exc:
            done[index] = dataclasses.replace(finding, unmeasured=(*finding.unmeasured, f"race not run: {exc}"))
            continue
        done[index] = dataclasses.replace(finding, race=race, effect=(*finding.effect, race.metric()))
    return done


def with_edit(finding: Finding, analyses: ModelAnalyses) -> Finding:
    """A verified fix with its edit of the user's source, when it is an edit of one call found there."""
    assert finding.fix is not None
    change = finding.fix.change
    if isinstance(change, Combined):
        # a change shared by several findings (every constant weight re-initialised): each edits its own call
        own = [c for c in change.changes if isinstance(c, Reinitialise) and c.parameter.rpartition(".")[0] == finding.module]
        if len(own) != 1:
            return finding
        change = own[0]
    replaced = None
    if isinstance(change, ReplaceModule):
        try:
            replaced = analyses.model.get_submodule(change.path)
        except AttributeError:
            return finding
    record = analyses.init_provenance(change.parameter) if isinstance(change, Reinitialise) else None
    site = (record.file, record.line) if record is not None and record.file and record.line else None
    if replaced is not None:
        built_there = [n for n in analyses.graph.nodes() if n.op == "call_module" and n.source is not None
                       and (n.source.file, n.source.line) == (finding.file, finding.line)
                       and type(n.module) is type(replaced)]
        calls = calls_on_line(finding.file or "", finding.line or 0, type(replaced).__name__)
        if len(built_there) > max(1, calls):   # a helper's call builds several layers: editing it would change all
            return dataclasses.replace(finding, unmeasured=(
                *finding.unmeasured, f"no automatic edit: the call at line {finding.line} builds {len(built_there)} "
                                     f"{type(replaced).__name__} layers (a helper), so editing it would change every one"))
    edit = call_edit(finding, replaced, site, change)
    diff = single_diff(edit) if edit is not None else None
    if diff is None:
        return finding
    return dataclasses.replace(finding, fix=dataclasses.replace(finding.fix, edit=diff, call_edit=edit))


def lint_model(model: nn.Module, example_inputs: Sequence[Any], host: PluginHost, name: str | None = None,
                run: RunOptions | None = None, target: str = "", notes: Sequence[Note] = ()) -> ModelReport:
    """Lint one built model with the run's plugin host. Raises TraceFailure if no tracer can handle it. A forward
    that calls torch.distributed collectives is linted again as the one process of a group of one."""
    try:
        return _lint_model(model, example_inputs, host, name, run, target, notes)
    except TraceFailure as failure:
        if not failure.needs_process_group:
            raise
        with one_process_group() as set_up:
            if not set_up:
                raise
            said = Note(NoteKind.TRACE, "its forward calls torch.distributed: linted as the one process of a group "
                                        "of one (in memory, world size 1), as it trains on one GPU")
            return _lint_model(model, example_inputs, host, name, run, target, [*notes, said])


def _lint_model(model: nn.Module, example_inputs: Sequence[Any], host: PluginHost, name: str | None,
                run: RunOptions | None, target: str, notes: Sequence[Note]) -> ModelReport:
    run = run or RunOptions()
    name = name or type(model).__name__
    # A model built on the meta device is analysed there whatever was requested; its inputs follow it.
    device = "meta" if is_meta_model(model) else ("cpu" if run.device == "auto" else run.device)
    inputs = inputs_for(model, example_inputs)
    model, lazy_note = materialized(model, inputs)
    notes = [*notes, *(Note(NoteKind.BUILD, text) for text in lazy_note)]
    report = ModelReport(name=name, target=target, input_shapes=describe_inputs(inputs), notes=list(notes),
                         device=device)
    with preserved_model_state(model):
        watch = TensorWatch(model)
        try:
            with phase("trace"), cuda_stays_on_cpu() as moved:
                traced = trace_model(model, inputs, plugin_trace=host.manager.hook.archlint_trace)
        except BaseException:
            watch.restore()   # a failed trace must not leave the model changed either
            raise
        if moved:
            report.notes.append(Note(NoteKind.TRACE, f"its forward puts tensors on CUDA at {', '.join(moved)}: kept "
                                                     f"on the CPU (no GPU here)"))
        report.notes.extend(Note(NoteKind.TRACE, text) for text in watch.note_forward_writes(traced.tracer))
        report.tracer = traced.tracer
        report.trace_attempts = [dataclasses.asdict(a) for a in traced.attempts]
        report.notes.extend(Note(NoteKind.TRACE, f"tracer {traced.tracer}: {what}") for what in traced.lost)
        with phase("graph"):
            graph = build_graph(traced.graph_module, model)
        report.parameters = graph.parameter_count()
        analyses = ModelAnalyses(model, graph, inputs, probe_enabled=run.probe, device=device, race=run.race,
                                  tracer=traced.tracer)
        ctx = CheckContext(name, model, graph, inputs, analyses, device=device, probe_enabled=run.probe,
                           show_all=run.show_all, tracer=traced.tracer)
        unjudged = []
        for rule in host.rules:
            if run.selection.rule_enabled(rule) and rule.needs_operations and traced.tracer in MODULE_CALLS_ONLY:
                unjudged.append(f"{rule.name} ({rule.code})")
            elif run.selection.rule_enabled(rule):
                with phase(f"rule {rule.name}"):
                    found = run_rule(rule, ctx, run, host.rule_plugins.get(rule.code, ""))
                if not any(f.code == INTERNAL_ERROR_CODE for f in found):
                    report.rules_run.extend((rule.name, rule.code))
                report.findings.extend(found)
                report.findings.extend(watch.check_untouched(f"rule {rule.code} ({rule.name})", name))
        report.findings = [verified(finding, analyses) for finding in report.findings]
        if run.race is not None:
            report.findings = raced(report.findings, analyses, name)
        report.findings.extend(watch.check_untouched("the fixes run on copies", name))
        if unjudged:
            report.notes.append(Note(NoteKind.NOT_JUDGED, f"not judged: {', '.join(unjudged)}: they read the operations "
                                     f"between modules, and the {traced.tracer} graph has module calls only"))
        if analyses.probe_failure:
            report.notes.append(Note(NoteKind.NOT_MEASURED, f"not measured: {analyses.probe_failure}; the rules that "
                                     "measure on it judged from the graph only"))
        if run.plots:
            report.plots = analyses.plot_data(measure=True)
            report.findings.extend(watch.check_untouched("the report's probe", name))
    report.findings.sort(key=lambda f: (f.file or "", f.line or 0, f.code, f.module))
    return report


__all__ = ["RunOptions", "lint_failure", "lint_model", "preserved_model_state", "TraceFailure", "INTERNAL_ERROR_CODE"]

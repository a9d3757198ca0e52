"""Tracers of last resort: torch.export (non-strict) and forward hooks.

Both return an fx.GraphModule whose nodes look like those of `torch.fx.symbolic_trace`: one
`call_module` node per invocation of a leaf module (target = the module path, so
`build_graph` finds the module, its parameters, hyper-parameters and construction site), function
nodes for operations outside leaf modules, `get_attr` nodes for parameters used directly, one
`placeholder` per input and one `output`. Every node already carries `meta['val']` (fake or
meta tensors), so `build_graph` needs no second code path.

* export: `torch.export.export(model, args, strict=False)` gives an aten-level graph; the aten
  nodes that ran inside one leaf-module invocation (read from `meta['nn_module_stack']`) are
  folded into one `call_module` node, the others stay function nodes (`aten.add`, `aten.cat`...).
* hooks: the forward runs once on fake tensors with hooks on every leaf module; edges link the
  tensor a module returned to the modules that consume it. Operations between modules are not
  recorded; a module fed by them gets one `untraced_ops` node whose inputs are the module
  outputs (or model inputs) that the tensor was computed from, so skips and merges stay visible.
* real hooks: the same recorder on one real forward (no gradients), the last resort for a forward
  that branches on tensor values. It keeps only meta copies of what it records, stops at the memory
  budget, and says which way each data-dependent branch went for this input.
"""
from __future__ import annotations

import contextlib
import inspect
import linecache
import operator
import sys
from types import FrameType
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import fx, nn
from torch.overrides import TorchFunctionMode
from torch.utils.weak import WeakIdKeyDictionary

from archlint.mechanics.source import display_path
from archlint.mechanics.tensors import memory_budget, memory_size, tensors_in, to_meta
from archlint.trace.fake import fake_mode

# -- helpers shared by both tracers -----------------------------------------------------------


def is_leaf(module: nn.Module) -> bool:
    """The same leaf rule as fx.Tracer: torch.nn modules (except containers) are not traced into."""
    mod = type(module).__module__
    return (mod.startswith("torch.nn") or mod.startswith("torch.ao.nn")) and not isinstance(module, nn.Sequential)


def leaf_modules(model: nn.Module) -> dict[str, nn.Module]:
    """Leaf modules by path, not descending into a leaf (MultiheadAttention's out_proj is not a leaf)."""
    found: dict[str, nn.Module] = {}

    def visit(module: nn.Module, path: str) -> None:
        if path and is_leaf(module):
            found[path] = module
            return
        for name, child in module.named_children():
            visit(child, f"{path}.{name}" if path else name)

    visit(model, "")
    return found


def _on_device_of(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[Any, ...]:
    """Inputs moved to the meta device when the model's weights live there (shapes only)."""
    return to_meta(inputs) if any(p.is_meta for p in model.parameters()) else inputs


def _output_node(graph: fx.Graph, outputs: list[fx.Node], value: Any) -> fx.Node:
    node = graph.output(tuple(outputs) if len(outputs) != 1 else outputs[0])
    node.meta["val"] = value
    return node


# -- torch.export --------------------------------------------------------------------------------

_GUARDS_TARGET = "_guards_fn"


def _layer_of(node: fx.Node, leaves: dict[str, nn.Module]) -> tuple[str, str] | None:
    """(invocation key, module path) of the outermost leaf module this aten node ran inside."""
    for key, (path, _type) in (node.meta.get("nn_module_stack") or {}).items():
        path = str(path)
        path = path[len("L['self']."):] if path.startswith("L['self'].") else path
        if path in leaves:
            return key, path
    return None


def _collapse_export(exported: fx.GraphModule, model: nn.Module) -> fx.GraphModule:
    """Fold the aten nodes of each leaf-module invocation into one call_module node."""
    leaves = leaf_modules(model)
    layer_of = {n: _layer_of(n, leaves) for n in exported.graph.nodes if n.op == "call_function"}
    groups: dict[str, list[fx.Node]] = {}
    for node, layer in layer_of.items():
        if layer is not None:
            groups.setdefault(layer[0], []).append(node)

    graph = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    done: set[str] = set()

    def copy_attr(node: fx.Node) -> fx.Node:
        if node not in env:
            env[node] = graph.get_attr(str(node.target))
            env[node].meta.update(node.meta)
        return env[node]

    def mapped(arg: Any) -> Any:
        def one(n: fx.Node) -> fx.Node:
            return copy_attr(n) if n.op == "get_attr" and n not in env else env[n]
        return fx.map_arg(arg, one)

    for node in exported.graph.nodes:
        if node.op == "placeholder":
            env[node] = graph.placeholder(node.name)
            env[node].meta.update(node.meta)
        elif node.op == "get_attr" or (node.op == "call_module" and node.target == _GUARDS_TARGET):
            continue  # parameters are copied on first use outside a layer; guards are not data flow
        elif node.op == "output":
            out = graph.output(mapped(node.args[0]))
            out.meta.update(node.meta)
            out.meta["val"] = fx.map_arg(node.args[0], lambda n: n.meta.get("val"))
        elif node.op == "call_function" and layer_of.get(node) is not None:
            key, path = layer_of[node]  # type: ignore[misc]
            if key not in done:
                done.add(key)
                _fold_layer(graph, env, groups[key], path, mapped)
        else:
            env[node] = graph.node_copy(node, mapped)
    gm = fx.GraphModule(_root_for(graph, model, exported), graph, type(model).__name__)
    gm.graph.eliminate_dead_code()
    return gm


def _root_for(graph: fx.Graph, model: nn.Module, exported: fx.GraphModule) -> dict[str, Any]:
    """The modules and tensors the graph refers to (export may add constants the model lacks)."""
    root: dict[str, Any] = {}
    for node in graph.nodes:
        if node.op == "call_module":
            root[str(node.target)] = model.get_submodule(str(node.target))
        elif node.op == "get_attr":
            owner, _, name = str(node.target).rpartition(".")
            try:
                root[str(node.target)] = getattr(model.get_submodule(owner), name)
            except AttributeError:
                root[str(node.target)] = getattr(exported.get_submodule(owner), name)
    return root


def _fold_layer(graph: fx.Graph, env: dict[fx.Node, fx.Node], members: list[fx.Node], path: str,
                mapped: Callable[[Any], Any]) -> None:
    """One call_module node for one leaf invocation; its outputs are the members used outside it."""
    inside = set(members)
    inputs: list[fx.Node] = []
    for member in members:
        for arg in member.all_input_nodes:
            if arg not in inside and arg.op != "get_attr" and arg not in inputs:
                inputs.append(arg)
    outputs = [m for m in members if any(u not in inside for u in m.users)] or [members[-1]]
    call = graph.call_module(path, tuple(mapped(a) for a in inputs))
    call.meta["nn_module_stack"] = members[0].meta.get("nn_module_stack")
    if len(outputs) == 1:
        call.meta["val"] = outputs[0].meta.get("val")
        env[outputs[0]] = call
        return
    call.meta["val"] = tuple(o.meta.get("val") for o in outputs)
    for index, member in enumerate(outputs):
        item = graph.call_function(operator.getitem, (call, index))
        item.meta["val"] = member.meta.get("val")
        env[member] = item


def export_graph(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[fx.GraphModule, list[str]]:
    """torch.export (non-strict), folded to one node per leaf-module call."""
    args = _on_device_of(model, inputs)
    kwargs = _no_generation_cache(model)
    program = torch.export.export(model, args, kwargs or None, strict=False)
    exported = program.module()
    # .module() drops the user's stack traces; copy them back by node name (the names are kept).
    traces = {n.name: n.meta.get("stack_trace") for n in program.graph.nodes}
    for node in exported.graph.nodes:
        if traces.get(node.name) and not node.meta.get("stack_trace"):
            node.meta["stack_trace"] = traces[node.name]
    lost = ["Python control flow was resolved for these example inputs (only the branch taken is in the graph)"]
    if kwargs:
        lost.append("traced with use_cache=False: the key/value cache a generating model returns is not part of "
                    "the architecture (and not a tensor torch.export can return)")
    return _collapse_export(exported, model), lost


def _no_generation_cache(model: nn.Module) -> dict[str, Any]:
    """`use_cache=False` for a forward that takes it (Hugging Face LMs return a cache object otherwise)."""
    try:
        parameters = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return {}
    return {"use_cache": False} if "use_cache" in parameters else {}


# -- forward hooks ---------------------------------------------------------------------------------


def untraced_ops(*sources: Any) -> Any:
    """Stands for operations between modules that the hooks tracer did not record (never executed)."""
    raise RuntimeError("untraced_ops marks a gap in a hooks-traced graph; it cannot run")


class _Lineage(TorchFunctionMode):
    """Remembers, for each tensor made outside leaf modules, which recorded nodes it was computed from."""

    def __init__(self, recorder: "_HookRecorder"):
        super().__init__()
        self.recorder = recorder

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if self.recorder.depth == 0:
            sources = self.recorder.sources_of([*tensors_in(list(args)), *tensors_in(kwargs)])
            for tensor in tensors_in(result):
                self.recorder.derive(tensor, sources)
        return result


class RealForwardTooLarge(RuntimeError):
    """The real forward's outputs passed the memory budget: it was stopped before taking the machine's memory."""


class _HookRecorder:
    """Builds the module-level graph while the model runs.

    Tensors are keys by identity with weak references, so a real forward frees its activations as
    it goes (only a meta-device copy of each recorded value is kept, as the node's `meta['val']`).
    """

    def __init__(self, real: bool = False, budget: int | None = None) -> None:
        self.graph = fx.Graph()
        self.produced: WeakIdKeyDictionary = WeakIdKeyDictionary()  # tensor -> node whose output it is
        self.derived: WeakIdKeyDictionary = WeakIdKeyDictionary()   # tensor -> nodes it was computed from
        self.gap_nodes: WeakIdKeyDictionary = WeakIdKeyDictionary()
        self.depth = 0
        self.real = real
        self.budget = budget
        self.allocated = 0      # bytes of every tensor seen made: an upper bound of what is alive at once

    def value(self, tensor: torch.Tensor) -> torch.Tensor:
        """What a node keeps of a tensor: the tensor itself (fake), or its shape and dtype only (real)."""
        if not self.real:
            return tensor
        self.allocated += tensor.numel() * tensor.element_size()
        if self.budget is not None and self.allocated > self.budget:
            raise RealForwardTooLarge(f"the real forward passed the memory budget of {memory_size(self.budget)} "
                                      "and was stopped (set ARCHLINT_MEMORY_BUDGET to allow more)")
        return torch.empty_like(tensor, device="meta")

    def sources_of(self, tensors: list[torch.Tensor]) -> frozenset[fx.Node]:
        found: set[fx.Node] = set()
        for t in tensors:
            if t in self.produced:
                found.add(self.produced[t])
            else:
                found |= self.derived.get(t, frozenset())
        return frozenset(found)

    def derive(self, tensor: torch.Tensor, sources: frozenset[fx.Node]) -> None:
        if self.produced.get(tensor) in sources and len(sources) == 1:
            return  # an in-place op on a module output from itself only: still that output
        self.value(tensor)   # counted against the budget
        self.produced.pop(tensor, None)
        self.gap_nodes.pop(tensor, None)
        self.derived[tensor] = sources

    def placeholder(self, name: str, tensor: torch.Tensor) -> None:
        node = self.graph.placeholder(name)
        node.meta["val"] = self.value(tensor)
        self.produced[tensor] = node

    def node_for(self, tensor: torch.Tensor) -> fx.Node:
        """The node a consumed tensor comes from (an `untraced_ops` node when ops ran in between)."""
        if tensor in self.produced:
            return self.produced[tensor]
        if tensor not in self.gap_nodes:
            sources = sorted(self.derived.get(tensor, frozenset()), key=lambda n: n.name)
            gap = self.graph.call_function(untraced_ops, tuple(sources))
            gap.meta["val"] = self.value(tensor)
            self.gap_nodes[tensor] = gap
        return self.gap_nodes[tensor]

    def as_args(self, value: Any) -> Any:
        """Module arguments with tensors replaced by nodes (the call_module node's args)."""
        if isinstance(value, torch.Tensor):
            return self.node_for(value)
        if isinstance(value, (tuple, list)):
            return type(value)(self.as_args(v) for v in value) if not hasattr(value, "_fields") else \
                tuple(self.as_args(v) for v in value)
        if isinstance(value, dict):
            return {k: self.as_args(v) for k, v in value.items()}
        return value if isinstance(value, (int, float, bool, str, type(None))) else None

    def record_call(self, path: str, args: tuple, kwargs: dict, output: Any) -> None:
        node = self.graph.call_module(path, self.as_args(tuple(args)), self.as_args(dict(kwargs)))
        node.meta["val"] = fx.node.map_aggregate(output, lambda v: self.value(v) if isinstance(v, torch.Tensor) else v)
        node.meta["nn_module_stack"] = {path: (path, "")}
        outs = list(tensors_in(output))
        if len(outs) == 1 and isinstance(output, torch.Tensor):
            self.produced[output] = node
        for index, tensor in enumerate(outs if not isinstance(output, torch.Tensor) else []):
            item = self.graph.call_function(operator.getitem, (node, index))
            item.meta["val"] = self.value(tensor)
            self.produced[tensor] = item


def _attach_hooks(leaves: dict[str, nn.Module], recorder: _HookRecorder) -> list[Any]:
    handles = []
    pending: dict[int, list[tuple[tuple, dict]]] = {}

    for path, module in leaves.items():
        def pre_hook(mod: nn.Module, args: tuple, kwargs: dict) -> None:
            pending.setdefault(id(mod), []).append((args, kwargs))
            recorder.depth += 1

        def post_hook(mod: nn.Module, args: tuple, kwargs: dict, output: Any, path: str = path) -> None:
            recorder.depth -= 1
            call_args, call_kwargs = pending[id(mod)].pop()
            recorder.record_call(path, call_args, call_kwargs, output)

        handles.append(module.register_forward_pre_hook(pre_hook, with_kwargs=True))
        handles.append(module.register_forward_hook(post_hook, with_kwargs=True))
    return handles


def _recorded_forward(model: nn.Module, inputs: tuple[Any, ...], recorder: _HookRecorder) -> fx.GraphModule:
    """Run the model once with hooks on every leaf module; the recorder's graph, closed by its outputs."""
    for index, x in enumerate(inputs):
        if isinstance(x, torch.Tensor):
            recorder.placeholder(f"input_{index}" if len(inputs) > 1 else "x", x)
    handles = _attach_hooks(leaf_modules(model), recorder)
    try:
        with torch.no_grad(), _Lineage(recorder):
            output = model(*inputs)
        outputs = list(tensors_in(output))
        nodes = [recorder.node_for(t) for t in outputs]
        values = tuple(n.meta["val"] for n in nodes)
    finally:
        for handle in handles:
            handle.remove()
    _output_node(recorder.graph, nodes, values[0] if len(values) == 1 else values)
    return fx.GraphModule(model, recorder.graph, type(model).__name__)


_GAPS = ("functional operations between modules (add, cat, reshape, mean, F.* calls...) are not in the graph; "
         "a layer fed by them is linked to the layers its input was computed from through an 'untraced_ops' node")


def hooks_graph(model: nn.Module, inputs: tuple[Any, ...]) -> tuple[fx.GraphModule, list[str]]:
    """A module-level graph from one forward pass on fake (meta-backed) tensors."""
    mode = fake_mode()
    fake_inputs = tuple(mode.from_tensor(x) if isinstance(x, torch.Tensor) else x
                        for x in _on_device_of(model, inputs))
    with mode:
        gm = _recorded_forward(model, fake_inputs, _HookRecorder())
    return gm, [_GAPS]


class _BranchWatch:
    """Which line ran next after each watched line (a data-dependent `if` or `while`), the first time it ran."""

    def __init__(self, lines: Sequence[tuple[str, int]]):
        self.lines = set(lines)
        self.files = {file for file, _ in lines}
        self.taken: dict[tuple[str, int], int] = {}

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        last: dict[int, int] = {}     # frame id -> its last line

        def local(frame: FrameType, event: str, arg: Any) -> Any:
            if event == "line":
                key = (frame.f_code.co_filename, last.get(id(frame), 0))
                if key in self.lines and key not in self.taken:
                    self.taken[key] = frame.f_lineno
                last[id(frame)] = frame.f_lineno
            return local

        def calls(frame: FrameType, event: str, arg: Any) -> Any:
            return local if event == "call" and frame.f_code.co_filename in self.files else None

        previous = sys.gettrace()
        sys.settrace(calls)
        try:
            yield
        finally:
            sys.settrace(previous)

    def notes(self) -> list[str]:
        notes = []
        for (file, line), next_line in sorted(self.taken.items()):
            statement = linecache.getline(file, line).strip()
            where = f"at {display_path(file)}:{line} `{statement}`"
            if statement.startswith(("if ", "elif ", "while ", "for ")) or " if " in statement:
                notes.append(f"{where} this input went on to line {next_line} "
                             f"`{linecache.getline(file, next_line).strip()}`; the other branch was not seen")
            else:   # .item(), int(tensor), a NumPy round trip: a value of this input decided what came next
                notes.append(f"{where} a tensor's value is read as a Python value; what follows was seen for "
                             "this input's value only")
        return notes


def real_hooks_graph(model: nn.Module, inputs: tuple[Any, ...], branches: Sequence[tuple[str, int]] = (),
                     why: str = "") -> tuple[fx.GraphModule, list[str]]:
    """The last resort: a module-level graph from one real forward (no gradients) on the example input.

    For forwards that branch on tensor values, which no fake-tensor tracer can follow. The model's
    own weights are used (no copy; the runner restores buffers a forward writes), activations are
    freed as they go, and the run stops once the tensors it made pass the memory budget.
    """
    if any(p.is_meta for p in model.parameters()):
        raise RuntimeError("its weights are on the meta device, so it cannot run for real")
    watch = _BranchWatch(branches)
    recorder = _HookRecorder(real=True, budget=memory_budget())
    with watch.watching():
        gm = _recorded_forward(model, inputs, recorder)
    called = {str(n.target) for n in gm.graph.nodes if n.op == "call_module"}
    unseen = [f"{path} ({type(m).__name__})" for path, m in leaf_modules(model).items()
              if path not in called and any(True for _ in m.parameters())]
    branch_notes = watch.notes()
    lost = ["the graph comes from one real forward on the example input"
            + (": " + "; ".join(branch_notes) if branch_notes else
               f" (the symbolic tracers failed: {why}); only the path this input took was seen" if why else
               "; only the path this input took was seen")]
    if unseen:
        lost.append("layers this input did not reach are not in the graph: " + ", ".join(unseen[:8])
                    + (" ..." if len(unseen) > 8 else ""))
    return gm, [*lost, _GAPS]

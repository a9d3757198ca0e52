"""ArchGraph: the model as a data-flow graph of layers and operations.

One node per fx node that computes something (modules, functions, methods); edges are data flow,
so skips, adds and concatenations are visible. Each node carries its module path, a normalised
`kind`, its parameter count, hyper-parameters, input/output shapes and the source line that
constructed the layer. The queries rules need live here; lessons live in rules.
"""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import networkx as nx
import torch
from torch import fx, nn

from archlint.construction import SourceLocation, class_attribute_site, construction_site

Shape = tuple[int, ...]

PARAMETRIC_KINDS = frozenset({"conv", "conv_transpose", "linear", "embedding", "attention"})
SPATIAL_KINDS = frozenset({"conv", "conv_transpose", "pool"})

_MODULE_KINDS: tuple[tuple[type, str], ...] = (
    (nn.modules.conv._ConvTransposeNd, "conv_transpose"),
    (nn.modules.conv._ConvNd, "conv"),
    (nn.Linear, "linear"),
    (nn.Bilinear, "linear"),
    (nn.Embedding, "embedding"),
    (nn.EmbeddingBag, "embedding"),
    (nn.MultiheadAttention, "attention"),
    (nn.modules.batchnorm._NormBase, "norm"),
    (nn.LayerNorm, "norm"),
    (nn.GroupNorm, "norm"),
    (nn.LocalResponseNorm, "norm"),
    (getattr(nn, "RMSNorm", nn.LayerNorm), "norm"),
    (nn.modules.dropout._DropoutNd, "dropout"),
    (nn.Flatten, "flatten"),
    (nn.modules.pooling._AdaptiveAvgPoolNd, "adaptive_pool"),
    (nn.modules.pooling._AdaptiveMaxPoolNd, "adaptive_pool"),
    (nn.modules.pooling._MaxPoolNd, "pool"),
    (nn.modules.pooling._AvgPoolNd, "pool"),
    (nn.modules.pooling._LPPoolNd, "pool"),
    (nn.Identity, "identity"),
)
_ACTIVATION_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Softplus, nn.Softmax,
    nn.LogSoftmax, nn.Softsign, nn.Tanhshrink, nn.GLU,
)
_FUNCTION_KINDS: dict[str, str] = {
    "conv1d": "conv", "conv2d": "conv", "conv3d": "conv",
    "conv_transpose1d": "conv_transpose", "conv_transpose2d": "conv_transpose", "conv_transpose3d": "conv_transpose",
    "linear": "linear", "embedding": "embedding", "scaled_dot_product_attention": "attention",
    "batch_norm": "norm", "layer_norm": "norm", "group_norm": "norm", "instance_norm": "norm", "rms_norm": "norm",
    "dropout": "dropout", "dropout1d": "dropout", "dropout2d": "dropout", "dropout3d": "dropout",
    "alpha_dropout": "dropout", "feature_alpha_dropout": "dropout",
    "flatten": "flatten",
    "max_pool1d": "pool", "max_pool2d": "pool", "max_pool3d": "pool",
    "avg_pool1d": "pool", "avg_pool2d": "pool", "avg_pool3d": "pool",
    "adaptive_avg_pool1d": "adaptive_pool", "adaptive_avg_pool2d": "adaptive_pool", "adaptive_avg_pool3d": "adaptive_pool",
    "adaptive_max_pool1d": "adaptive_pool", "adaptive_max_pool2d": "adaptive_pool", "adaptive_max_pool3d": "adaptive_pool",
    "add": "add", "iadd": "add", "sub": "add", "cat": "cat", "concat": "cat", "concatenate": "cat", "stack": "cat",
    "mul": "mul", "imul": "mul", "matmul": "matmul", "bmm": "matmul", "mm": "matmul", "einsum": "matmul",
    "relu": "act", "relu_": "act", "relu6": "act", "gelu": "act", "silu": "act", "sigmoid": "act", "tanh": "act",
    "hardswish": "act", "hardsigmoid": "act", "leaky_relu": "act", "elu": "act", "softmax": "act", "mish": "act",
    "log_softmax": "act", "softplus": "act", "hardtanh": "act",
    "view": "reshape", "reshape": "reshape", "mean": "mean", "detach": "detach",
}
_ACT_FUNCTIONS = {k for k, v in _FUNCTION_KINDS.items() if v == "act"}
_HPARAM_ATTRS = (
    "in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
    "in_features", "out_features", "num_embeddings", "embedding_dim", "embed_dim", "num_heads",
    "num_features", "normalized_shape", "num_groups", "p", "inplace", "output_size", "start_dim", "end_dim",
    "ceil_mode", "output_padding",
)


@dataclass
class LayerNode:
    """One layer or operation of the traced model."""

    name: str                       # unique node name (the fx node name)
    op: str                         # fx op: placeholder, call_module, call_function, call_method, get_attr, output
    kind: str                       # normalised kind: conv, linear, norm, act, pool, add, cat, flatten, ...
    type_name: str                  # module class name, or function/method name
    module_path: str = ""           # dotted path of the module (or enclosing module for functions)
    module: nn.Module | None = None # the module object for call_module nodes (read only!)
    params: int = 0                 # parameters owned by this module (not recursive into children it calls)
    hparams: dict[str, Any] = field(default_factory=dict)
    in_shapes: list[Shape | None] = field(default_factory=list)
    out_shape: Shape | None = None
    dtype: str | None = None
    source: SourceLocation | None = None
    fx_node: fx.Node | None = None

    @property
    def is_parametric(self) -> bool:
        return self.kind in PARAMETRIC_KINDS

    @property
    def spatial_dims(self) -> int:
        """Number of spatial axes of the output (0 for vectors/tokens): N, C, *spatial."""
        if self.out_shape is None or len(self.out_shape) < 3:
            return 0
        if self.kind in ("conv", "conv_transpose", "pool", "adaptive_pool"):
            return len(self.out_shape) - 2
        return 0

    def __repr__(self) -> str:
        return f"<LayerNode {self.name} {self.kind}:{self.type_name} {self.module_path} {self.out_shape}>"


class ArchGraph:
    """A networkx DiGraph of LayerNodes (node id = LayerNode.name) plus queries rules share."""

    def __init__(self, nodes: Iterable[LayerNode], edges: Iterable[tuple[str, str]], model: nn.Module | None = None):
        self.g = nx.DiGraph()
        for node in nodes:
            self.g.add_node(node.name, layer=node)
        for src, dst in edges:
            if src in self.g and dst in self.g:
                self.g.add_edge(src, dst)
        self.model = model
        self._order = list(nx.topological_sort(self.g))

    # -- access ---------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> LayerNode:
        return self.g.nodes[name]["layer"]

    def __contains__(self, name: str) -> bool:
        return name in self.g

    def __len__(self) -> int:
        return self.g.number_of_nodes()

    def nodes(self, kind: str | Iterable[str] | None = None) -> list[LayerNode]:
        """Nodes in topological (execution) order, optionally only of the given kind(s)."""
        kinds = {kind} if isinstance(kind, str) else set(kind) if kind is not None else None
        return [self[n] for n in self._order if kinds is None or self[n].kind in kinds]

    def by_module(self, module_path: str) -> list[LayerNode]:
        return [n for n in self.nodes() if n.module_path == module_path and n.op == "call_module"]

    def inputs(self) -> list[LayerNode]:
        return self.nodes("input")

    def output(self) -> LayerNode | None:
        outs = self.nodes("output")
        return outs[-1] if outs else None

    def predecessors(self, node: LayerNode | str, kinds: Iterable[str] | None = None) -> list[LayerNode]:
        name = node if isinstance(node, str) else node.name
        found = [self[p] for p in self.g.predecessors(name)]
        return [n for n in found if kinds is None or n.kind in set(kinds)]

    def successors(self, node: LayerNode | str, kinds: Iterable[str] | None = None) -> list[LayerNode]:
        name = node if isinstance(node, str) else node.name
        found = [self[s] for s in self.g.successors(name)]
        return [n for n in found if kinds is None or n.kind in set(kinds)]

    def nearest(self, node: LayerNode, kinds: Iterable[str], direction: str = "down",
                through: Iterable[str] = ("act", "dropout", "identity", "norm", "reshape", "flatten")) -> list[LayerNode]:
        """Nearest nodes of `kinds` reachable from `node` while only passing nodes of kind `through`."""
        wanted, passable = set(kinds), set(through)
        step = self.successors if direction == "down" else self.predecessors
        found: list[LayerNode] = []
        seen: set[str] = set()
        frontier = step(node)
        while frontier:
            nxt: list[LayerNode] = []
            for n in frontier:
                if n.name in seen:
                    continue
                seen.add(n.name)
                if n.kind in wanted:
                    found.append(n)
                elif n.kind in passable:
                    nxt.extend(step(n))
            frontier = nxt
        return found

    # -- structure queries ------------------------------------------------------------------------
    def parameter_count(self) -> int:
        """Unique parameters of the whole model (shared/tied weights counted once)."""
        if self.model is None:
            return sum(n.params for n in self.nodes())
        return sum(p.numel() for p in {id(p): p for p in self.model.parameters()}.values())

    def spatial_layers(self) -> list[LayerNode]:
        """Convolutions and pools with spatial outputs, in execution order."""
        return [n for n in self.nodes(SPATIAL_KINDS) if n.spatial_dims > 0]

    def longest_path(self, weight: Callable[[LayerNode], int] = lambda n: int(n.is_parametric),
                     graph: nx.DiGraph | None = None) -> list[LayerNode]:
        """The path maximising the summed node weight (default: number of parametric layers)."""
        g = self.g if graph is None else graph
        best: dict[str, tuple[int, str | None]] = {}
        for name in nx.topological_sort(g):
            w = weight(self[name])
            prev = max(((best[p][0], p) for p in g.predecessors(name)), default=(0, None))
            best[name] = (prev[0] + w, prev[1])
        if not best:
            return []
        end = max(best, key=lambda n: best[n][0])
        path: list[str] = []
        cursor: str | None = end
        while cursor is not None:
            path.append(cursor)
            cursor = best[cursor][1]
        return [self[n] for n in reversed(path) if weight(self[n]) > 0]

    def head(self) -> list[LayerNode]:
        """The classifier head: nodes after the last node with a spatial output, up to the output."""
        spatial = [n for n in self.nodes() if n.out_shape is not None and len(n.out_shape) >= 3
                   and n.kind in SPATIAL_KINDS | {"norm", "act", "add", "cat", "mul", "identity", "dropout"}]
        if not spatial:
            return []
        last = spatial[-1].name
        after = nx.descendants(self.g, last)
        return [n for n in self.nodes() if n.name in after and n.kind not in ("output",)]

    def ancestors(self, node: LayerNode | str) -> set[str]:
        return nx.ancestors(self.g, node if isinstance(node, str) else node.name)

    def descendants(self, node: LayerNode | str) -> set[str]:
        return nx.descendants(self.g, node if isinstance(node, str) else node.name)


# -- building from fx ---------------------------------------------------------------------------

def _shape_of(value: Any) -> Shape | None:
    if isinstance(value, torch.Tensor):
        return tuple(int(s) if isinstance(s, int) else -1 for s in value.shape)
    return None


def _node_value(node: fx.Node) -> Any:
    if "val" in node.meta:
        return node.meta["val"]
    tm = node.meta.get("tensor_meta")
    return tm


def _out_shape(node: fx.Node) -> tuple[Shape | None, str | None]:
    value = _node_value(node)
    if isinstance(value, (tuple, list)) and value:
        value = value[0]
    if isinstance(value, torch.Tensor):
        return _shape_of(value), str(value.dtype).replace("torch.", "")
    if value is not None and hasattr(value, "shape") and hasattr(value, "dtype"):
        return tuple(value.shape), str(value.dtype).replace("torch.", "")
    return None, None


def module_kind(module: nn.Module) -> str:
    for cls, kind in _MODULE_KINDS:
        if isinstance(module, cls):
            return kind
    if isinstance(module, _ACTIVATION_MODULES):
        return "act"
    return "other"


def _function_name(node: fx.Node) -> str:
    target = node.target
    if isinstance(target, str):
        return target
    name = getattr(target, "__name__", str(target))
    if target in (operator.add, operator.iadd):
        return "add"
    if target in (operator.mul, operator.imul):
        return "mul"
    if target in (operator.matmul,):
        return "matmul"
    return re.sub(r"\.(default|Tensor|Scalar|int|dim|using_ints)$", "", name.split(".")[-1] if "." in name else name)


def _module_hparams(module: nn.Module) -> dict[str, Any]:
    hp: dict[str, Any] = {}
    for attr in _HPARAM_ATTRS:
        if hasattr(module, attr):
            value = getattr(module, attr)
            if isinstance(value, (int, float, bool, str, tuple, list, type(None))):
                hp[attr] = tuple(value) if isinstance(value, list) else value
    if isinstance(module, nn.modules.conv._ConvNd):
        hp["transposed"] = module.transposed
        hp["padding_mode"] = module.padding_mode
    if isinstance(module, nn.modules.dropout._DropoutNd):
        hp["channelwise"] = type(module).__name__ in ("Dropout1d", "Dropout2d", "Dropout3d", "FeatureAlphaDropout")
        hp["active_in_eval"] = False
    return hp


def _function_hparams(node: fx.Node, fname: str) -> dict[str, Any]:
    hp: dict[str, Any] = {}
    kwargs = dict(node.kwargs)
    if fname.startswith("dropout") or fname.endswith("dropout"):
        p = kwargs.get("p", node.args[1] if len(node.args) > 1 else 0.5)
        training = kwargs.get("training", node.args[2] if len(node.args) > 2 else True)
        hp["p"] = p if isinstance(p, (int, float)) else None
        hp["channelwise"] = fname in ("dropout1d", "dropout2d", "dropout3d", "feature_alpha_dropout")
        # F.dropout defaults to training=True: unless `training` is the traced module's flag it stays on in eval.
        hp["active_in_eval"] = training is True
        hp["training_arg"] = repr(training) if not isinstance(training, fx.Node) else training.name
    elif fname in ("flatten",):
        hp["start_dim"] = kwargs.get("start_dim", node.args[1] if len(node.args) > 1 else 0)
        hp["end_dim"] = kwargs.get("end_dim", node.args[2] if len(node.args) > 2 else -1)
    elif fname == "mean":
        dims = kwargs.get("dim", node.args[1] if len(node.args) > 1 else None)
        hp["dim"] = tuple(dims) if isinstance(dims, (list, tuple)) else dims
        hp["keepdim"] = kwargs.get("keepdim", node.args[2] if len(node.args) > 2 else False)
    elif fname.startswith("adaptive"):
        hp["output_size"] = kwargs.get("output_size", node.args[1] if len(node.args) > 1 else None)
    elif fname.startswith(("max_pool", "avg_pool")):
        names = ("kernel_size", "stride", "padding", "dilation")
        for i, key in enumerate(names, start=1):
            if key in kwargs:
                hp[key] = kwargs[key]
            elif len(node.args) > i:
                hp[key] = node.args[i]
    return hp


def _classify(node: fx.Node, modules: dict[str, nn.Module]) -> tuple[str, str, nn.Module | None, dict[str, Any]]:
    if node.op == "placeholder":
        return "input", "input", None, {}
    if node.op == "output":
        return "output", "output", None, {}
    if node.op == "get_attr":
        return "param", "get_attr", None, {}
    if node.op == "call_module":
        module = modules.get(str(node.target))
        if module is None:
            return "other", str(node.target), None, {}
        return module_kind(module), type(module).__name__, module, _module_hparams(module)
    fname = _function_name(node)
    kind = _FUNCTION_KINDS.get(fname, "other")
    if kind == "add" and sum(isinstance(a, fx.Node) for a in node.args) < 2:
        kind = "other"  # x + 1 is not a merge of two tensors
    if kind == "mean":
        kind = "mean"
    return kind, fname, None, _function_hparams(node, fname)


def _own_params(module: nn.Module | None) -> int:
    if module is None:
        return 0
    return sum(p.numel() for p in module.parameters(recurse=True))


def _stack_site(node: fx.Node) -> SourceLocation | None:
    trace = node.stack_trace or node.meta.get("stack_trace")
    if not trace:
        return None
    matches = re.findall(r'File "([^"]+)", line (\d+)', trace)
    for file, line in reversed(matches):
        if "/torch/" not in file and "/archlint/" not in file:
            return SourceLocation(file, int(line))
    return None


def _module_site(model: nn.Module, path: str, module: nn.Module | None) -> SourceLocation | None:
    if module is not None:
        site = construction_site(module)
        if site is not None:
            return site
    if not path:
        return None
    parent_path, _, attr = path.rpartition(".")
    try:
        parent = model.get_submodule(parent_path) if parent_path else model
    except AttributeError:
        return None
    site = construction_site(parent) if not attr.isdigit() else None
    return class_attribute_site(parent, attr) if not attr.isdigit() else (site or construction_site(parent))


def _enclosing_module(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack")
    if not stack:
        return ""
    path, _ = list(stack.values())[-1]
    path = str(path)
    return path[len("L['self']."):] if path.startswith("L['self'].") else path


def build_graph(gm: fx.GraphModule, model: nn.Module) -> ArchGraph:
    """Turn a traced, shape-annotated GraphModule into an ArchGraph over the user's `model`."""
    modules = dict(model.named_modules())
    modules.update({k: v for k, v in gm.named_modules() if k not in modules})
    nodes: list[LayerNode] = []
    edges: list[tuple[str, str]] = []
    for node in gm.graph.nodes:
        kind, type_name, module, hparams = _classify(node, modules)
        out_shape, dtype = _out_shape(node)
        in_shapes = [_out_shape(a)[0] for a in node.all_input_nodes]
        path = str(node.target) if node.op == "call_module" else _enclosing_module(node)
        site = _module_site(model, path, module) if node.op == "call_module" else _stack_site(node)
        if site is None and node.op != "call_module" and path:
            site = _module_site(model, path, modules.get(path))
        nodes.append(LayerNode(
            name=node.name, op=node.op, kind=kind, type_name=type_name, module_path=path,
            module=module, params=_own_params(module), hparams=hparams, in_shapes=in_shapes,
            out_shape=out_shape, dtype=dtype, source=site, fx_node=node,
        ))
        edges.extend((src.name, node.name) for src in node.all_input_nodes)
    return ArchGraph(nodes, edges, model)

"""ArchGraph: the model as a data-flow graph of layers and operations.

One node per fx node that computes something (modules, functions, methods); edges are data flow,
so skips, adds and concatenations are visible. Each node carries its module path, a normalised
`kind`, its parameter count, hyper-parameters, input/output shapes and the source line that
constructed the layer. The queries rules need live here; lessons live in rules.
"""
from __future__ import annotations

import enum
import functools
import operator
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable

import torch
from torch import fx, nn

from archlint.analysis.measurement import MeasurementUnavailable
from archlint.load.construction import (
    SourceLocation,
    class_attribute_site,
    construction_site,
)
from archlint.mechanics.frames import is_user_file

if TYPE_CHECKING:
    import networkx as nx

Shape = tuple[int, ...]



class NodeKind(str, enum.Enum):
    """What a LayerNode does, normalised over modules, functions and methods (docs/design.md describes each).
    A str, so `node.kind == "conv"` and `graph.nodes("conv")` read as before."""

    INPUT = "input"
    OUTPUT = "output"
    PARAM = "param"
    CONV = "conv"
    CONV_TRANSPOSE = "conv_transpose"
    LINEAR = "linear"
    EMBEDDING = "embedding"
    ATTENTION = "attention"
    NORM = "norm"
    ACT = "act"
    DROPOUT = "dropout"
    FLATTEN = "flatten"
    RESHAPE = "reshape"
    POOL = "pool"
    ADAPTIVE_POOL = "adaptive_pool"
    MEAN = "mean"
    ADD = "add"
    CAT = "cat"
    MUL = "mul"
    MATMUL = "matmul"
    IDENTITY = "identity"
    DETACH = "detach"
    SHAPE = "shape"
    OTHER = "other"

    __str__ = str.__str__
    __format__ = str.__format__


# Every LayerNode.kind, as names.
NODE_KINDS = tuple(kind.value for kind in NodeKind)
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
    "feature_dropout": "dropout", "feature_alpha_dropout_": "dropout",
    "add": "add", "add_": "add", "iadd": "add", "sub": "add", "cat": "cat", "concat": "cat", "concatenate": "cat", "stack": "cat",
    "mul": "mul", "mul_": "mul", "imul": "mul", "matmul": "matmul", "bmm": "matmul", "mm": "matmul", "einsum": "matmul",
    "relu": "act", "relu_": "act", "relu6": "act", "gelu": "act", "silu": "act", "sigmoid": "act", "tanh": "act",
    "hardswish": "act", "hardsigmoid": "act", "leaky_relu": "act", "elu": "act", "softmax": "act", "mish": "act",
    "log_softmax": "act", "softplus": "act", "hardtanh": "act", "hardtanh_": "act", "silu_": "act",
    "hardswish_": "act", "leaky_relu_": "act", "elu_": "act", "gelu_": "act", "sigmoid_": "act", "tanh_": "act",
    "view": "reshape", "reshape": "reshape", "_unsafe_view": "reshape", "mean": "mean", "detach": "detach",
}
# Methods/functions whose result is a Python number or torch.Size, not a tensor: they describe a shape.
# torch._assert checks such numbers (ViT asserts its input size): it belongs with them.
_SHAPE_FUNCTIONS = frozenset({"size", "dim", "numel", "sym_size", "sym_numel", "getattr", "_assert", "_assert_async"})
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
    kind: NodeKind                  # normalised kind: conv, linear, norm, act, pool, add, cat, flatten, ...
    type_name: str                  # module class name, or function/method name
    module_path: str = ""           # dotted path of the module (or enclosing module for functions)
    module: nn.Module | None = None # the module object for call_module nodes (read only!)
    params: int = 0                 # parameters this node uses (a module's own, recursively; a user Parameter)
    unique_params: int = 0          # of those, the ones no earlier node used (tied/shared weights count once)
    shares_params_with: str | None = None  # the earlier node that already used (some of) these parameters
    hparams: dict[str, Any] = field(default_factory=dict)
    in_shapes: list[Shape | None] = field(default_factory=list)
    out_shape: Shape | None = None
    dtype: str | None = None
    source: SourceLocation | None = None
    fx_node: fx.Node | None = None
    # the torch.nn layer whose forward this op is, when the graph recorded the op rather than the module call (an
    # export graph's aten.convolution inside an nn.Conv1d): the module a fix can replace
    enclosing_layer: nn.Module | None = None

    @property
    def layer_module(self) -> nn.Module | None:
        """The module that does this node's work: the called module, or the torch.nn layer the op belongs to; None
        for a functional call in the user's own forward."""
        return self.module if self.module is not None else self.enclosing_layer

    @property
    def is_parametric(self) -> bool:
        """A layer with learned weights: conv/linear/embedding/attention, or a matmul with a user Parameter. A
        functional attention (`F.scaled_dot_product_attention`) has no weights of its own: its projections are the
        layers."""
        if self.kind == "attention" and self.op == "call_function" and self.params == 0:
            return False
        return self.kind in PARAMETRIC_KINDS or (self.kind == "matmul" and self.params > 0)

    @property
    def is_opaque(self) -> bool:
        """A block of the user's (or a library's) own kept as one node by a fallback tracer (fx-leaves): what
        it does inside, its shortcuts included, is not in the graph."""
        return self.op == "call_module" and self.kind == "other" and self.module is not None and \
            not type(self.module).__module__.startswith("torch.")

    @property
    def spatial_dims(self) -> int:
        """Number of spatial axes of the output (0 for vectors/tokens): N, C, *spatial."""
        if self.out_shape is None or len(self.out_shape) < 3:
            return 0
        if self.kind in ("conv", "conv_transpose", "pool", "adaptive_pool"):
            return len(self.out_shape) - 2
        return 0

    @property
    def display_name(self) -> str:
        """How findings name the node: its module path, else the fx node's name."""
        return self.module_path or self.name

    def __repr__(self) -> str:
        return f"<LayerNode {self.name} {self.kind}:{self.type_name} {self.module_path} {self.out_shape}>"


class ArchGraph:
    """LayerNodes (id = LayerNode.name) with their data-flow edges, in execution order, plus queries rules share.

    The adjacency is kept here (the queries rules need are a few walks); `g` gives the same graph as a
    networkx DiGraph for anything more, built on first use (importing networkx costs more than a lint of
    a small model, so a lint that does not need it does not pay for it).
    """

    def __init__(self, nodes: Iterable[LayerNode], edges: Iterable[tuple[str, str]], model: nn.Module | None = None,
                 graph_module: fx.GraphModule | None = None):
        self._layers: dict[str, LayerNode] = {node.name: node for node in nodes}
        self._successors: dict[str, list[str]] = {name: [] for name in self._layers}
        self._predecessors: dict[str, list[str]] = {name: [] for name in self._layers}
        for src, dst in edges:
            if src in self._layers and dst in self._layers and dst not in self._successors[src]:
                self._successors[src].append(dst)
                self._predecessors[dst].append(src)
        self.model = model
        self._graph_module = graph_module
        # fx lists nodes in execution order (a topological order); keep it, rules report in that order.
        self._order = list(self._layers)

    @functools.cached_property
    def g(self) -> "nx.DiGraph":
        """The graph as a networkx DiGraph (node attribute `layer`), for algorithms beyond the queries here."""
        import networkx as nx

        g = nx.DiGraph()
        g.add_nodes_from((name, {"layer": layer}) for name, layer in self._layers.items())
        g.add_edges_from((src, dst) for src, targets in self._successors.items() for dst in targets)
        return g

    def graph_module(self) -> fx.GraphModule:
        """The traced fx GraphModule this graph was built from."""
        if self._graph_module is None:
            raise MeasurementUnavailable("the graph was not built from a traced GraphModule")
        return self._graph_module

    # -- access ---------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> LayerNode:
        return self._layers[name]

    def __contains__(self, name: str) -> bool:
        return name in self._layers

    def __len__(self) -> int:
        return len(self._layers)

    def nodes(self, kind: str | Iterable[str] | None = None) -> list[LayerNode]:
        """Nodes in topological (execution) order, optionally only of the given kind(s)."""
        kinds = {kind} if isinstance(kind, str) else set(kind) if kind is not None else None
        return [self[n] for n in self._order if kinds is None or self[n].kind in kinds]

    def under(self, module_path: str) -> list[LayerNode]:
        """The nodes inside the module at `module_path` (its own call, or its submodules' and functional ops), in
        execution order: one layer, or the block a fix put in its place."""
        return [n for n in self.nodes() if n.kind not in ("param", "shape")
                and (n.module_path == module_path or n.module_path.startswith(module_path + "."))]

    def by_module(self, module_path: str) -> list[LayerNode]:
        return [n for n in self.nodes() if n.module_path == module_path and n.op == "call_module"]

    def inputs(self) -> list[LayerNode]:
        return self.nodes("input")

    def output(self) -> LayerNode | None:
        outs = self.nodes("output")
        return outs[-1] if outs else None

    def predecessors(self, node: LayerNode | str, kinds: Iterable[str] | None = None) -> list[LayerNode]:
        name = node if isinstance(node, str) else node.name
        found = [self[p] for p in self._predecessors[name]]
        return [n for n in found if kinds is None or n.kind in set(kinds)]

    def successors(self, node: LayerNode | str, kinds: Iterable[str] | None = None) -> list[LayerNode]:
        name = node if isinstance(node, str) else node.name
        found = [self[s] for s in self._successors[name]]
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
            return sum(n.unique_params for n in self.nodes())
        return sum(p.numel() for p in {id(p): p for p in self.model.parameters()}.values())

    def parameter_split(self) -> dict[str, Any]:
        """Parameters of the body (up to the last spatial output) and of the head after it.

        {"body": n, "head": n, "method": ...}, or {"unavailable": why} when there is no spatial-to-head
        boundary (e.g. a transformer on tokens), where any split would be made up.
        """
        head_nodes = self.head()
        if not head_nodes:
            return {"unavailable": "no spatial feature map followed by a head was found in the graph"}
        head = sum(n.unique_params for n in head_nodes)
        return {"body": self.parameter_count() - head, "head": head,
                "method": "unique parameters counted per layer; head = layers after the last spatial output"}

    def spatial_layers(self) -> list[LayerNode]:
        """Convolutions and pools with spatial outputs, in execution order."""
        return [n for n in self.nodes(SPATIAL_KINDS) if n.spatial_dims > 0]

    def longest_path(self, weight: Callable[[LayerNode], int] = lambda n: int(n.is_parametric),
                     within: Collection[str] | None = None) -> list[LayerNode]:
        """The path maximising the summed node weight (default: number of parametric layers), optionally only
        through the nodes named in `within`."""
        best: dict[str, tuple[int, str | None]] = {}
        for name in self._order:
            if within is not None and name not in within:
                continue
            w = weight(self[name])
            prev = max(((best[p][0], p) for p in self._predecessors[name] if p in best), default=(0, None))
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
        after = self.descendants(last)
        return [n for n in self.nodes() if n.name in after and n.kind not in ("output",)]

    def ancestors(self, node: LayerNode | str) -> set[str]:
        return self._reachable(node, self._predecessors)

    def descendants(self, node: LayerNode | str) -> set[str]:
        return self._reachable(node, self._successors)

    def has_path(self, source: LayerNode | str, target: LayerNode | str, avoiding: Collection[str] = ()) -> bool:
        """Whether data flows from `source` to `target` without passing the nodes named in `avoiding`."""
        source_name, target_name = (n if isinstance(n, str) else n.name for n in (source, target))
        return source_name == target_name or target_name in self._reachable(source_name, self._successors, avoiding)

    def _reachable(self, node: LayerNode | str, step: dict[str, list[str]], avoiding: Collection[str] = ()) -> set[str]:
        start = node if isinstance(node, str) else node.name
        seen: set[str] = set()
        frontier = [start]
        while frontier:
            for nxt in step[frontier.pop()]:
                if nxt not in seen and nxt not in avoiding:
                    seen.add(nxt)
                    frontier.append(nxt)
        return seen


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


def _first_tensor(value: Any) -> Any:
    """The first tensor of a structured value (tuple, list, dict: a model's or a module's output)."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (tuple, list)):
        return next((found for found in map(_first_tensor, value) if found is not None), None)
    return value


def _out_shape(node: fx.Node) -> tuple[Shape | None, str | None]:
    value = _first_tensor(_node_value(node))
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
    if isinstance(target, torch._ops.OpOverload):  # aten ops from torch.export: aten.add.Tensor -> add
        return target.overloadpacket.__name__
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
    """Hyper-parameters parsed from a functional call; lists (aten spells kernel_size [2, 2]) become tuples."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in _parse_function_args(node, fname).items()}


def _parse_function_args(node: fx.Node, fname: str) -> dict[str, Any]:
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
    if kind == "other" and "attention" in fname.lower():
        kind = "attention"   # a wrapped attention function (torchvision's shifted_window_attention): mixes positions
    if fname in _SHAPE_FUNCTIONS or _is_shape_valued(node):
        return "shape", fname, None, {}  # x.size(0), x.shape, x.dim() + 1: numbers about a tensor, not data flow
    if kind in ("add", "mul") and sum(_is_tensor_valued(a) for a in node.args if isinstance(a, fx.Node)) < 2:
        kind = "other"  # x + 1 or x * 0.5 is not a merge of two tensors
    return kind, fname, None, _function_hparams(node, fname)


def _has_value(node: fx.Node) -> bool:
    return "val" in node.meta or "tensor_meta" in node.meta


def _is_shape_valued(node: fx.Node) -> bool:
    """The node yields Python numbers or a torch.Size (known after shape propagation)."""
    if not _has_value(node):
        return False
    value = _node_value(node)
    numbers = (int, float, bool, torch.SymInt, torch.SymFloat, torch.SymBool)
    if isinstance(value, (tuple, list)):
        return bool(value) and all(isinstance(v, numbers) for v in value)
    return isinstance(value, numbers)


def _is_tensor_valued(node: fx.Node) -> bool:
    """True unless shape propagation says the node yields no tensor (ints, torch.Size, None)."""
    if not _has_value(node):
        return True
    value = _node_value(node)
    if isinstance(value, (tuple, list)):
        return any(isinstance(v, torch.Tensor) for v in value)
    return isinstance(value, torch.Tensor) or (hasattr(value, "shape") and hasattr(value, "dtype"))


def _parameters_of(node: fx.Node, module: nn.Module | None, gm: fx.GraphModule) -> list[nn.Parameter]:
    """The parameters a node uses: its module's (recursively), or the Parameter a get_attr reads."""
    if module is not None:
        return list(module.parameters(recurse=True))
    if node.op == "get_attr":
        value = _attribute(gm, str(node.target))
        return [value] if isinstance(value, nn.Parameter) else []
    return []


def _attribute(root: nn.Module, dotted: str) -> Any:
    owner, _, name = dotted.rpartition(".")
    try:
        return getattr(root.get_submodule(owner) if owner else root, name)
    except AttributeError:
        return None


def _stack_site(node: fx.Node) -> SourceLocation | None:
    """The user's line in the fx/export stack trace (the innermost frame outside torch and archlint)."""
    trace = node.stack_trace or node.meta.get("stack_trace")
    if not trace:
        return None
    matches = re.findall(r'File "([^"]+)", line (\d+)', trace)
    for file, line in reversed(matches):
        if is_user_file(file):
            return SourceLocation(file, int(line))
    return None


def _module_site(model: nn.Module, path: str, module: nn.Module | None) -> SourceLocation | None:
    """Where the layer was constructed: recorded while the model was built, else read from its class."""
    if module is not None and construction_site(module) is not None:
        return construction_site(module)
    if not path:
        return None
    parent_path, _, attr = path.rpartition(".")
    try:
        parent = model.get_submodule(parent_path) if parent_path else model
    except AttributeError:
        return None
    if attr.isdigit():  # an element of a Sequential/ModuleList: the line that built the container
        if not parent_path:
            return None   # the model itself is the container: its elements have no line of their own
        return construction_site(parent) or _module_site(model, parent_path, parent)
    return class_attribute_site(parent, attr)


def _enclosing_layer(node: fx.Node, kind: str, enclosing: nn.Module | None) -> nn.Module | None:
    """The torch.nn leaf layer an op of kind `kind` runs inside (its forward's own op), or None: an op in a user's
    module is the user's functional call."""
    if enclosing is None or next(enclosing.children(), None) is not None:
        return None
    if not type(enclosing).__module__.startswith("torch.nn.") or module_kind(enclosing) != kind:
        return None
    return enclosing


def _enclosing_module(node: fx.Node) -> str:
    stack = node.meta.get("nn_module_stack")
    if not stack:
        return ""
    path, _ = list(stack.values())[-1]
    path = str(path)
    return path[len("L['self']."):] if path.startswith("L['self'].") else path


def _data_inputs(node: fx.Node) -> list[fx.Node]:
    """Inputs that carry tensors (x.size(0) feeding a view is a number, not data flow).

    A shape node keeps all its inputs, so x -> x.shape -> x.shape[0] stays connected.
    """
    if _is_shape_node(node):
        return list(node.all_input_nodes)
    return [a for a in node.all_input_nodes if not _is_shape_node(a)]


def _is_shape_node(node: fx.Node) -> bool:
    return _is_shape_valued(node) or _function_name_or_none(node) in _SHAPE_FUNCTIONS


def _function_name_or_none(node: fx.Node) -> str | None:
    return _function_name(node) if node.op in ("call_function", "call_method") else None


class _ParameterLedger:
    """Counts each parameter once, at the first node that uses it (tied and shared weights)."""

    def __init__(self) -> None:
        self.first_user: dict[int, str] = {}

    def record(self, node_name: str, params: list[nn.Parameter]) -> tuple[int, str | None]:
        unique, shared_with = 0, None
        for p in {id(p): p for p in params}.values():
            if id(p) in self.first_user:
                shared_with = shared_with or self.first_user[id(p)]
            else:
                self.first_user[id(p)] = node_name
                unique += p.numel()
        return unique, shared_with


def _layer_node(node: fx.Node, gm: fx.GraphModule, model: nn.Module, modules: dict[str, nn.Module],
                ledger: _ParameterLedger) -> LayerNode:
    kind, type_name, module, hparams = _classify(node, modules)
    out_shape, dtype = _out_shape(node)
    params = _parameters_of(node, module, gm)
    unique, shared_with = ledger.record(node.name, params)
    if node.op == "call_module":
        path, site = str(node.target), _module_site(model, str(node.target), module)
    elif node.op == "get_attr":
        path = str(node.target).rpartition(".")[0]
        site = _module_site(model, str(node.target), None)
        type_name = "Parameter" if params else "tensor"
        hparams = {"shape": out_shape}
    else:
        path = _enclosing_module(node)
        site = _stack_site(node) or (_module_site(model, path, modules.get(path)) if path else None)
    return LayerNode(
        name=node.name, op=node.op, kind=NodeKind(kind), type_name=type_name, module_path=path, module=module,
        enclosing_layer=_enclosing_layer(node, kind, modules.get(path) if node.op == "call_function" else None),
        params=sum(p.numel() for p in {id(p): p for p in params}.values()), unique_params=unique,
        shares_params_with=shared_with, hparams=hparams,
        in_shapes=[_out_shape(a)[0] for a in _data_inputs(node)], out_shape=out_shape, dtype=dtype,
        source=site, fx_node=node,
    )


def _credit_weight_inputs(layers: dict[str, LayerNode], node: fx.Node) -> None:
    """A matmul/linear call on a user Parameter uses that weight: give it the count (is_parametric)."""
    layer = layers[node.name]
    weights = [layers[a.name] for a in node.all_input_nodes if layers[a.name].op == "get_attr" and layers[a.name].params]
    if weights and layer.kind in ("matmul", "linear", "conv", "mul", "embedding"):
        layer.params = sum(w.params for w in weights)
        layer.hparams["weights"] = tuple(w.fx_node.target for w in weights if w.fx_node is not None)


def build_graph(gm: fx.GraphModule, model: nn.Module) -> ArchGraph:
    """Turn a traced, shape-annotated GraphModule into an ArchGraph over the user's `model`."""
    modules = dict(model.named_modules())
    modules.update({k: v for k, v in gm.named_modules() if k not in modules})
    ledger = _ParameterLedger()
    layers: dict[str, LayerNode] = {}
    edges: list[tuple[str, str]] = []
    for node in gm.graph.nodes:
        layers[node.name] = _layer_node(node, gm, model, modules, ledger)
        if node.op in ("call_function", "call_method"):
            _credit_weight_inputs(layers, node)
        edges.extend((src.name, node.name) for src in _data_inputs(node))
    return ArchGraph(layers.values(), edges, model, gm)


# -- a layer and the ops that belong to it ---------------------------------------------------------

# ops that belong to the layer they follow: the layer's output activation is read after them
_LAYER_TAIL_KINDS = frozenset({"norm", "act", "identity"})


def layer_output(graph: ArchGraph, node: LayerNode) -> LayerNode:
    """The node whose output is `node`'s activation: the layer, then its norm/activation ops on a single path."""
    current = node
    while True:
        # shape reads (timm's BatchNormAct2d asserts x.ndim) and weights/buffers of a functional norm
        # (F.batch_norm's running stats) are not data flow: they neither end the layer nor count as a merge
        following = [n for n in graph.successors(current) if n.kind != "shape"]
        if len(following) != 1 or following[0].kind not in _LAYER_TAIL_KINDS \
                or len([p for p in graph.predecessors(following[0]) if p.kind != "param"]) != 1:
            return current
        current = following[0]


def is_norm(node: LayerNode, batch: bool = False) -> bool:
    """A normalisation layer, module or functional (`batch=True`: batch statistics only, i.e. BatchNorm in any of
    its forms: BatchNorm1d/2d/3d and their subclasses, SyncBatchNorm, lazy ones, F.batch_norm, aten batch_norm)."""
    if node.kind != NodeKind.NORM:
        return False
    if not batch:
        return True
    return isinstance(node.module, nn.modules.batchnorm._BatchNorm) or "batch_norm" in node.type_name \
        or "BatchNorm" in node.type_name

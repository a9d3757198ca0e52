"""The layer a model's input reaches first: what kind of tensor the model's first forward argument must be.

The first layer registered in `__init__` is often not the one the input meets: a diffusion UNet registers its
timestep MLP (`self.time_embed = nn.Sequential(nn.Linear(128, 512), ...)`) before the convolutions the image goes
through, a ViT its position embedding before the patch projection. So the forward's code is read, not run: the
names that flow from its first argument (through assignments, loops and method calls on them), and the first call
of a submodule that takes one of them (`self.patch_embed(x)`, `for block in self.blocks: h = block(h, emb)`,
`super().forward(x, t)`). That submodule is read the same way, down to a layer (a convolution, a linear layer, an
embedding, a recurrent layer). When the code cannot be read that way, the first layer in registration order.
"""
from __future__ import annotations

import ast
import functools
import inspect
from typing import Any, Callable, Iterator

from torch import nn

from archlint.load.lengths import MOST_METHOD_DEPTH, own_function
from archlint.mechanics.source import function_definition

LAYERS = (nn.modules.conv._ConvNd, nn.Linear, nn.Embedding, nn.EmbeddingBag, nn.RNNBase)
MOST_DEPTH = 8   # submodules and methods followed from the model's forward


def first_layer(model: nn.Module) -> nn.Module | None:
    """The layer the first forward argument reaches first, else the first layer in registration order."""
    reached = _reached(model, 0, 0)
    return reached if reached is not None else registered_first_layer(model)


def layer_reached_by(model: nn.Module, argument: int) -> nn.Module | None:
    """The layer forward's argument number `argument` (0: the first after self) reaches first, or None."""
    return _reached(model, argument, 0)


def layers_by_key(model: nn.Module) -> dict[str, nn.Module] | None:
    """For a forward whose first argument is a dict of features (`self.project(feature['low_level'])`,
    `self.aspp(feature['out'])`): the layer each key's value reaches first, in the order the keys are read; None
    when the argument is not read by constant keys or a key reaches no layer."""
    read = _forward_and_its_input(model)
    if read is None:
        return None
    definition, argument = read
    keys = list(dict.fromkeys(
        node.slice.value for node in ast.walk(definition) if isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name) and node.value.id == argument
        and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str)))
    found = {}
    for key in keys:
        layer = _Reading(model, definition, 0).follow({f"{argument}[{key!r}]"})
        if layer is None:
            return None
        found[key] = layer
    return found or None


def layers_by_level(model: nn.Module) -> list[nn.Module] | None:
    """For a forward whose first argument is a list of feature maps, one per level of a pyramid (a detection head's
    `for k, (cls_conv, x) in enumerate(zip(self.cls_convs, xin)): x = self.stems[k](x)`, a neck's
    `[conv(inputs[i]) for i, conv in enumerate(self.lateral_convs)]`): the layer each item reaches first, one per
    item of the module list it is walked with; None when the argument is not walked so."""
    read = _forward_and_its_input(model)
    if read is None:
        return None
    definition, argument = read
    for target, items, body in _loops(definition):
        walk = _walked_with(target, items, argument)
        if walk is None:
            continue
        item, index, zipped = walk
        level_layers = _level_layers(model, body, item, index, zipped, argument)
        if level_layers:
            return level_layers
    return None


def _loops(definition: ast.AST) -> Iterator[tuple[ast.expr, ast.expr, list[ast.AST]]]:
    """(target, iterable, what runs per item) of every for statement and comprehension."""
    for node in ast.walk(definition):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            yield node.target, node.iter, list(node.body)
        elif isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            for generator in node.generators:
                yield generator.target, generator.iter, [node.elt]
        elif isinstance(node, ast.DictComp):
            for generator in node.generators:
                yield generator.target, generator.iter, [node.key, node.value]


def _walked_with(target: ast.expr, items: ast.expr, argument: str
                 ) -> tuple[str | None, str | None, dict[str, ast.expr]] | None:
    """How a loop walks `argument` (or a module list beside it): the name of its item (None when the argument is
    indexed by the loop's index instead), the index's name, and the other names the loop binds to what they walk."""
    index = None
    if isinstance(items, ast.Call) and isinstance(items.func, ast.Name) and items.func.id == "enumerate" \
            and items.args and isinstance(target, ast.Tuple) and len(target.elts) == 2 \
            and isinstance(target.elts[0], ast.Name):
        index, target, items = target.elts[0].id, target.elts[1], items.args[0]
    if isinstance(items, ast.Call) and isinstance(items.func, ast.Name) and items.func.id == "zip" \
            and isinstance(target, ast.Tuple) and len(target.elts) == len(items.args):
        bound = {t.id: walked for t, walked in zip(target.elts, items.args) if isinstance(t, ast.Name)}
    elif isinstance(target, ast.Name):
        bound = {target.id: items}
    else:
        return None
    item = next((name for name, walked in bound.items() if isinstance(walked, ast.Name) and walked.id == argument),
                None)
    if item is None and index is None:
        return None
    return item, index, {name: walked for name, walked in bound.items() if name != item}


def _level_layers(model: nn.Module, body: list[ast.AST], item: str | None, index: str | None,
                  zipped: dict[str, ast.expr], argument: str) -> list[nn.Module] | None:
    """Per level, the layer the argument's item reaches: the first call in the loop's body given the item
    (`x`, or `argument[index]`) whose callee is a module list's item (a name the loop binds to a module list, or
    `self.<list>[index]`)."""
    for node in (n for part in body for n in ast.walk(part)):
        if not (isinstance(node, ast.Call) and node.args):
            continue
        given = node.args[0]
        if not (item is not None and isinstance(given, ast.Name) and given.id == item
                or index is not None and isinstance(given, ast.Subscript) and isinstance(given.value, ast.Name)
                and given.value.id == argument and isinstance(given.slice, ast.Name) and given.slice.id == index):
            continue
        container = None
        if isinstance(node.func, ast.Name) and node.func.id in zipped:
            container = _module_of(model, zipped[node.func.id])
        elif isinstance(node.func, ast.Subscript) and isinstance(node.func.slice, ast.Name) \
                and node.func.slice.id == index:
            container = _module_of(model, node.func.value)
        if isinstance(container, (nn.ModuleList, nn.Sequential)) and len(container):
            reached = [_reached(level, 0, 1) for level in container]
            return reached if all(isinstance(layer, nn.modules.conv._ConvNd) and layer.in_channels
                                  for layer in reached) else None
    return None


def _module_of(model: nn.Module, node: ast.expr) -> Any:
    """The submodule `self.a.b` names, else None."""
    if isinstance(node, ast.Name) and node.id == "self":
        return model
    if isinstance(node, ast.Attribute):
        owner = _module_of(model, node.value)
        return getattr(owner, node.attr, None) if isinstance(owner, nn.Module) else None
    return None


def declared_ranks(model: nn.Module) -> dict[str, int]:
    """The forward's parameters whose code unpacks their whole shape (`b, c, h, w = x.shape`, `= x.size()`), with
    the number of sizes unpacked: Python refuses any other count, so that is the argument's rank. Read in the
    forward and in the model's own methods it hands them to (`self.forecast(x_enc, ...)`)."""
    ranks: dict[str, int] = {}
    forward = own_function(type(model), "forward")
    definition = function_definition(forward) if forward is not None else None
    if definition is not None:
        parameters = [a.arg for a in definition.args.args[1:]]
        _unpacked_ranks(type(model), definition, {name: name for name in parameters}, ranks, 0)
    return ranks


def _unpacked_ranks(cls: type, definition: ast.FunctionDef | ast.AsyncFunctionDef, names: dict[str, str],
                    ranks: dict[str, int], depth: int) -> None:
    """Into `ranks`, under the forward's own parameter names, the ranks this function's code unpacks for its
    parameters (`names`: its parameter -> the forward's), before the name is bound to anything else (`x =
    self.patch_embed(x)` makes another tensor); the own methods it passes them to, followed."""
    rebound: dict[str, int] = {}
    for node in ast.walk(definition):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in names:
            rebound[node.id] = min(rebound.get(node.id, node.lineno), node.lineno)

    def original(name: str | None, line: int) -> bool:
        return name in names and line <= rebound.get(name, line)

    for node in ast.walk(definition):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Tuple) \
                and not any(isinstance(e, ast.Starred) for e in node.targets[0].elts):
            shaped = _shape_of(node.value)
            if original(shaped, node.lineno):
                ranks.setdefault(names[shaped], len(node.targets[0].elts))
        elif isinstance(node, ast.Call) and depth < MOST_METHOD_DEPTH and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "self":
            function = own_function(cls, node.func.attr)
            called = function_definition(function) if function is not None else None
            if called is None:
                continue
            parameters = [a.arg for a in called.args.args[1:]]
            handed = {parameter: names[argument.id] for parameter, argument in zip(parameters, node.args)
                      if isinstance(argument, ast.Name) and original(argument.id, node.lineno)}
            if handed:
                _unpacked_ranks(cls, called, handed, ranks, depth + 1)


def split_features(model: nn.Module) -> int | None:
    """How many features the forward's first argument has along its last axis when the forward splits it into
    parts of sizes it keeps (`torch.split(x, [self.input_ch, self.input_ch_views], dim=-1)`,
    `x.split([3, 3], -1)`): their sum; None when it does not split it so."""
    read = _forward_and_its_input(model)
    if read is None:
        return None
    definition, argument = read
    for node in ast.walk(definition):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "split"):
            continue
        given = [*node.args, *(k.value for k in node.keywords if k.arg in ("split_size_or_sections", "dim"))]
        if isinstance(node.func.value, ast.Name) and node.func.value.id == argument:
            sizes, dims = given[:1], given[1:]
        elif given and isinstance(given[0], ast.Name) and given[0].id == argument:
            sizes, dims = given[1:2], given[2:]
        else:
            continue
        if not sizes or not isinstance(sizes[0], (ast.List, ast.Tuple)) or not dims or ast.unparse(dims[0]) != "-1":
            continue   # (torch.split's own default is the first axis)
        try:
            values = [eval(compile(ast.Expression(e), "<split>", "eval"), {"self": model}) for e in sizes[0].elts]
        except Exception:
            continue
        if all(isinstance(v, int) and v > 0 for v in values):
            return sum(values)
    return None


MOST_FLAG_DEPTH = 2   # functions a flag is followed into (the forward passes `CUDA` on to a helper that tests it)


def flag_arguments(model: nn.Module) -> frozenset[int]:
    """Positions (0: the first after self) of the forward's required parameters that it uses only as truth values
    (`if CUDA:`, `not train`), itself or in the functions it passes them to: flags, not tensors, which a tensor of
    several values would make ambiguous."""
    return _forward_parameters_read_so(type(model), _only_tested)


@functools.lru_cache(maxsize=512)
def _forward_parameters_read_so(cls: type, reads_so: Callable[..., bool]) -> frozenset[int]:
    """Positions of the class's forward parameters that `reads_so(owner, function, definition, name, depth)` says
    are read so; read once per class and question (every input tried asks)."""
    forward = cls.forward
    definition = function_definition(forward)
    if definition is None:
        return frozenset()
    parameters = [a.arg for a in [*definition.args.posonlyargs, *definition.args.args]][1:]
    return frozenset(i for i, name in enumerate(parameters) if reads_so(cls, forward, definition, name, 0))


# calls whose positional arguments are sizes (Python ints), and tensor methods whose arguments after the first are
_SIZE_CALLS = frozenset({"range", "arange", "zeros", "ones", "empty", "full", "rand", "randn", "randint"})
_SIZE_METHODS = frozenset({"expand", "view", "reshape", "repeat", "new_zeros", "new_ones", "new_empty"})


def size_arguments(model: nn.Module) -> frozenset[int]:
    """Positions (0: the first after self) of the forward's required parameters it uses as a size, itself or in
    the functions it passes them to (`torch.arange(0, max_len)`, `.expand(-1, max_len, -1)`, `range(steps)`):
    Python ints, not tensors (a sequence's longest length beside the lengths)."""
    return _forward_parameters_read_so(type(model), _used_as_size)


def _used_as_size(owner: type | None, function: Any, definition: ast.FunctionDef | ast.AsyncFunctionDef, name: str,
                  depth: int) -> bool:
    """`name` is given to a size call or method in `definition`, or handed to a function that uses it so."""
    for call in (n for n in ast.walk(definition) if isinstance(n, ast.Call)):
        func = call.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        given = call.args[1:] if called in _SIZE_METHODS else call.args if called in _SIZE_CALLS else []
        if any(isinstance(a, ast.Name) and a.id == name for a in given):
            return True
        position = next((i for i, a in enumerate(call.args) if isinstance(a, ast.Name) and a.id == name), None)
        if position is None or depth >= MOST_FLAG_DEPTH or any(isinstance(a, ast.Starred) for a in call.args):
            continue
        callee, bound = _callee_of(owner, function, func)
        target = function_definition(callee) if callee is not None else None
        parameters = [a.arg for a in [*target.args.posonlyargs, *target.args.args]][1 if bound else 0:] \
            if target is not None else []
        if position < len(parameters) and _used_as_size(owner if bound else None, callee, target,
                                                        parameters[position], depth + 1):
            return True
    return False


def _only_tested(owner: type | None, function: Any, definition: ast.FunctionDef | ast.AsyncFunctionDef, name: str,
                 depth: int) -> bool:
    """`name` is read in `definition`, and every read is a condition or an argument of a function that uses it
    only so."""
    parents = {id(child): node for node in ast.walk(definition) for child in ast.iter_child_nodes(node)}
    reads = [n for n in ast.walk(definition) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
    return bool(reads) and all(_tested(owner, function, read, parents, depth) for read in reads)


def _tested(owner: type | None, function: Any, read: ast.Name, parents: dict[int, ast.AST], depth: int) -> bool:
    parent = parents.get(id(read))
    if isinstance(parent, (ast.If, ast.While, ast.IfExp, ast.Assert)) and parent.test is read:
        return True
    if isinstance(parent, ast.BoolOp) or isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.Not):
        return True
    passed = _passed_on(owner, function, read, parents, depth)
    return passed is not None and _only_tested(*passed, depth + 1)


def _call_taking(read: ast.Name, parents: dict[int, ast.AST]) -> tuple[ast.Call, str | int] | None:
    """The call `read` is an argument of, and where it is given: its keyword's name or its position; None when it
    is not an argument, or the call spreads `*args` or `**kwargs` over it."""
    parent = parents.get(id(read))
    keyword = parent if isinstance(parent, ast.keyword) else None
    call = parents.get(id(parent)) if keyword is not None else parent
    if not isinstance(call, ast.Call) or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    if keyword is not None:
        return (call, keyword.arg) if keyword.arg is not None else None
    index = next((i for i, a in enumerate(call.args) if a is read), None)
    return (call, index) if index is not None else None


def _passed_on(owner: type | None, function: Any, read: ast.Name, parents: dict[int, ast.AST], depth: int
               ) -> tuple[type | None, Any, ast.FunctionDef | ast.AsyncFunctionDef, str] | None:
    """When `read` is an argument of a call of a Python function (`self._norm(x, mode)`), that function as
    (owner, function, definition, the parameter it binds), to be read in turn; else None."""
    taking = _call_taking(read, parents)
    if taking is None or depth >= MOST_FLAG_DEPTH:
        return None
    call, where = taking
    callee, bound = _callee_of(owner, function, call.func)
    target = function_definition(callee) if callee is not None else None
    if target is None:
        return None
    parameters = [a.arg for a in [*target.args.posonlyargs, *target.args.args]][1 if bound else 0:]
    if isinstance(where, str):
        if where not in parameters and where not in [a.arg for a in target.args.kwonlyargs]:
            return None
        inner = where
    elif where < len(parameters):
        inner = parameters[where]
    else:
        return None
    return owner if bound else None, callee, target, inner


def literal_choices(model: nn.Module) -> dict[int, Any]:
    """Positions (0: the first after self) of the forward's required parameters that it only compares with
    literals (`if mode == "norm": ... elif mode == "denorm": ... else: raise NotImplementedError`), itself or in
    the functions it passes them to, each with the literal it is compared with first: a choice of what the
    forward does, not a tensor; its first branch is taken."""
    return dict(_literal_choices(type(model)))


_NO_CHOICE = object()


def none_accepted(model: nn.Module) -> frozenset[int]:
    """Positions (0: the first after self) of the forward's required parameters that may be None: the forward, or
    a function it hands them to, tests them against None (`if mask is not None:`), or hands them to a submodule
    whose forward defaults that parameter to None (`self.transformer(src, tgt, src_mask, tgt_mask)`). An optional
    mask, padding or cache that the signature happens to require."""
    return _none_accepted(model.__class__, tuple(sorted(
        (name, type(child)) for name, child in model.named_children())))


@functools.lru_cache(maxsize=512)
def _none_accepted(cls: type, children: tuple[tuple[str, type], ...]) -> frozenset[int]:
    definition = function_definition(cls.forward)
    if definition is None:
        return frozenset()
    parameters = [a.arg for a in [*definition.args.posonlyargs, *definition.args.args]][1:]
    child_types = dict(children)
    return frozenset(i for i, name in enumerate(parameters)
                     if _tested_for_none(cls, cls.forward, definition, name, child_types, 0))


def _tested_for_none(owner: type | None, function: Any, definition: ast.FunctionDef | ast.AsyncFunctionDef,
                     name: str, children: dict[str, type], depth: int) -> bool:
    parents = {id(child): node for node in ast.walk(definition) for child in ast.iter_child_nodes(node)}
    for read in (n for n in ast.walk(definition) if isinstance(n, ast.Name) and n.id == name
                 and isinstance(n.ctx, ast.Load)):
        parent = parents.get(id(read))
        if isinstance(parent, ast.Compare) and len(parent.ops) == 1 and \
                isinstance(parent.ops[0], (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)) and \
                any(isinstance(o, ast.Constant) and o.value is None for o in (parent.left, *parent.comparators)):
            return True
        if _given_to_child_taking_none(read, parents, owner, children, depth):
            return True
        passed = _passed_on(owner, function, read, parents, depth)
        if passed is not None and _tested_for_none(*passed, children if passed[0] is owner else {}, depth + 1):
            return True
    return False


def _given_to_child_taking_none(read: ast.Name, parents: dict[int, ast.AST], owner: type | None,
                                children: dict[str, type], depth: int) -> bool:
    """`read` is an argument of `self.child(...)` whose forward parameter there defaults to None, or is tested
    against None by the child's forward."""
    taking = _call_taking(read, parents)
    if owner is None or taking is None:
        return False
    call, where = taking
    if not isinstance(call.func, ast.Attribute) or not isinstance(call.func.value, ast.Name) or \
            call.func.value.id != "self" or call.func.attr not in children:
        return False
    try:
        parameters = list(inspect.signature(children[call.func.attr].forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    if isinstance(where, str):
        parameter = next((p for p in parameters if p.name == where), None)
    else:
        parameter = parameters[where] if where < len(parameters) and \
            parameters[where].kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) \
            else None
    if parameter is None:
        return False
    if parameter.default is None:
        return True
    child = children[call.func.attr]
    definition = function_definition(child.forward) if _is_user_class(child) and depth < MOST_FLAG_DEPTH else None
    return definition is not None and _tested_for_none(child, child.forward, definition, parameter.name, {},
                                                       depth + 1)


def _is_user_class(cls: type) -> bool:
    return not (getattr(cls, "__module__", "") or "").startswith(("torch.", "torchvision."))


@functools.lru_cache(maxsize=512)
def _literal_choices(cls: type) -> tuple[tuple[int, Any], ...]:
    definition = function_definition(cls.forward)
    if definition is None:
        return ()
    parameters = [a.arg for a in [*definition.args.posonlyargs, *definition.args.args]][1:]
    chosen = ((i, _first_literal(cls, cls.forward, definition, name, 0)) for i, name in enumerate(parameters))
    return tuple((i, literal) for i, literal in chosen if literal is not _NO_CHOICE)


def _first_literal(owner: type | None, function: Any, definition: ast.FunctionDef | ast.AsyncFunctionDef, name: str,
                   depth: int) -> Any:
    """The literal `name` is first compared with in `definition` when every read of it is such a comparison (or an
    argument of a function that reads it only so), else _NO_CHOICE. None is no choice (`mask is None`: optional)."""
    parents = {id(child): node for node in ast.walk(definition) for child in ast.iter_child_nodes(node)}
    reads = sorted((n for n in ast.walk(definition) if isinstance(n, ast.Name) and n.id == name
                    and isinstance(n.ctx, ast.Load)), key=lambda n: (n.lineno, n.col_offset))
    literals = []
    for read in reads:
        if _inside(read, ast.Raise, parents):
            continue   # said in the error an unknown value gets (`raise ValueError(f"unknown mode {mode}")`)
        parent = parents.get(id(read))
        if isinstance(parent, ast.Compare) and len(parent.ops) == 1:
            other = parent.comparators[0] if parent.left is read else parent.left
            options = other.elts if isinstance(other, (ast.Tuple, ast.List, ast.Set)) and \
                isinstance(parent.ops[0], (ast.In, ast.NotIn)) else [other]
            if not options or not all(isinstance(o, ast.Constant) and o.value is not None for o in options):
                return _NO_CHOICE
            literals.append(options[0].value)
            continue
        passed = _passed_on(owner, function, read, parents, depth)
        literal = _first_literal(*passed, depth + 1) if passed is not None else _NO_CHOICE
        if literal is _NO_CHOICE:
            return _NO_CHOICE
        literals.append(literal)
    return literals[0] if literals else _NO_CHOICE


def _inside(node: ast.AST, kind: type, parents: dict[int, ast.AST]) -> bool:
    while node is not None and not isinstance(node, kind):
        node = parents.get(id(node))   # type: ignore[assignment]
    return node is not None


def _callee_of(owner: type | None, function: Any, func: ast.expr) -> tuple[Any, bool]:
    """The Python function a call names (a global of the calling function's module, or `self.method`), and whether
    it is bound (its first parameter is self); (None, False) when it is something else."""
    if isinstance(func, ast.Name):
        found = getattr(function, "__globals__", {}).get(func.id)
        return (found, False) if inspect.isfunction(found) else (None, False)
    if owner is not None and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
            and func.value.id == "self":
        found = inspect.getattr_static(owner, func.attr, None)
        return (found, True) if inspect.isfunction(found) else (None, False)
    return None, False


def _forward_and_its_input(model: nn.Module) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, str] | None:
    """The forward's syntax tree and the name of its first argument after self, or None."""
    definition = function_definition(type(model).forward)
    if definition is None:
        return None
    parameters = [a.arg for a in [*definition.args.posonlyargs, *definition.args.args]][1:]
    return (definition, parameters[0]) if parameters else None


def _shape_of(node: ast.expr) -> str | None:
    """The name in `name.shape` or `name.size()`, else None."""
    if isinstance(node, ast.Call) and not node.args and isinstance(node.func, ast.Attribute) and \
            node.func.attr == "size":
        node = node.func
    elif not (isinstance(node, ast.Attribute) and node.attr == "shape"):
        return None
    return node.value.id if isinstance(node.value, ast.Name) else None


def registered_first_layer(model: nn.Module) -> nn.Module | None:
    return next((m for m in model.modules() if isinstance(m, LAYERS)), None)


def _reached(module: nn.Module, argument: int, depth: int) -> nn.Module | None:
    """The layer that argument number `argument` of the module's forward reaches first, or None (unknown)."""
    if isinstance(module, LAYERS):
        return module if argument == 0 else None
    if depth > MOST_DEPTH:
        return None
    if type(module).__module__.startswith("torch.") and not isinstance(module, nn.Sequential):
        return None   # a torch container or block: its own code is not the user's to read
    if isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward:
        first = next(iter(module), None)
        return _reached(first, argument, depth + 1) if isinstance(first, nn.Module) else None
    return _reached_in_function(module, type(module).forward, argument, depth)


def _reached_in_function(module: nn.Module, function: Any, argument: int, depth: int) -> nn.Module | None:
    definition = function_definition(function)
    if definition is None:
        return None
    parameters = [a.arg for a in [*definition.args.posonlyargs, *definition.args.args]][1:]   # without self
    if argument < len(parameters):
        return _Reading(module, definition, depth).follow({parameters[argument]})
    if argument == len(parameters) and definition.args.vararg is not None:
        # a wrapper's `forward(self, *args)` handing them on (`self.module.forward(*args)`): its first one
        return _Reading(module, definition, depth).follow({definition.args.vararg.arg})
    return None


class _Reading:
    """One function of a module read in source order, following the names that hold the input."""

    def __init__(self, module: nn.Module, definition: ast.FunctionDef, depth: int):
        self.module, self.definition, self.depth = module, definition, depth
        self.iterated: dict[str, nn.Module] = {}   # loop names bound to a submodule's first item

    def follow(self, holding: set[str]) -> nn.Module | None:
        for statement in _in_order(self.definition.body):
            if isinstance(statement, (ast.For, ast.AsyncFor)):
                bound = self._first_item(statement.target, statement.iter)
                if bound is not None:
                    self.iterated[bound[0]] = bound[1]
            # in the order Python evaluates them: an argument's call before the call it is given to
            for call in sorted(_calls(statement), key=lambda c: (c.end_lineno or 0, c.end_col_offset or 0)):
                position = next((i for i, a in enumerate(call.args) if _reads(a, holding)), None)
                if position is None:
                    continue
                found = self._called(call, position)
                if found is not None:
                    return found
            if _reads(_value_of(statement), holding):
                holding |= _targets_of(statement)
        return None

    def _first_item(self, target: ast.expr, items: ast.expr) -> tuple[str, nn.Module] | None:
        """The loop name bound to a container's first submodule: `for block in self.blocks`, `for i, block in
        enumerate(self.blocks)`, `for name, module in self.named_children()` (or `.items()`), `for m in
        self.children()` (or `.values()`)."""
        if isinstance(items, ast.Call) and isinstance(items.func, ast.Name) and items.func.id == "enumerate" \
                and items.args and isinstance(target, ast.Tuple) and len(target.elts) == 2:
            return self._first_item(target.elts[1], items.args[0])
        if isinstance(items, ast.Call) and isinstance(items.func, ast.Attribute) and not items.args:
            method, owner = items.func.attr, self._submodule(items.func.value)
            if method in ("named_children", "items") and isinstance(target, ast.Tuple) and len(target.elts) == 2:
                return self._first_item(target.elts[1], items.func.value)
            if method in ("children", "values"):
                return self._first_item(target, items.func.value) if isinstance(owner, nn.Module) else None
            return None
        if not isinstance(target, ast.Name):
            return None
        container = self._submodule(items)
        first = next(iter(container.children()), None) if isinstance(container, nn.Module) and \
            isinstance(container, (nn.Sequential, nn.ModuleList, nn.ModuleDict)) or container is self.module else None
        return (target.id, first) if isinstance(first, nn.Module) else None

    def _called(self, call: ast.Call, position: int) -> nn.Module | None:
        """The layer reached through the call, when it is a submodule or one of the module's own methods."""
        callee = call.func
        if isinstance(callee, ast.Name) and callee.id in self.iterated:
            return _reached(self.iterated[callee.id], position, self.depth + 1)
        if isinstance(callee, ast.Attribute) and callee.attr == "forward" and \
                not (isinstance(callee.value, ast.Name) and callee.value.id == "self") and \
                isinstance(self._submodule(callee.value), nn.Module):   # `self.module.forward(x)`
            callee = callee.value
        submodule = self._submodule(callee)
        if isinstance(submodule, nn.Module):
            return _reached(submodule, position, self.depth + 1)
        method = self._method(callee)
        if method is not None:
            return _reached_in_function(self.module, method, position, self.depth + 1)
        return None

    def _submodule(self, node: ast.expr) -> Any:
        """`self.blocks`, `self.transformer.wte`, `self.blocks[0]` or `self` (a container iterating itself), as the
        module holds it."""
        if isinstance(node, ast.Name) and node.id == "self":
            return self.module
        if isinstance(node, ast.Attribute):
            owner = self._submodule(node.value)
            value = getattr(owner, node.attr, None) if isinstance(owner, nn.Module) else None
            # a plain list of layers (`self.modules = list(self.encoder.children())`) is indexed as a ModuleList is
            plain = isinstance(value, (list, tuple)) and value and all(isinstance(v, nn.Module) for v in value)
            return value if isinstance(value, nn.Module) or plain else None
        if isinstance(node, ast.Subscript):
            owner = self._submodule(node.value)
            if isinstance(owner, (nn.Sequential, nn.ModuleList, list, tuple)) and len(owner):
                index = node.slice.value if isinstance(node.slice, ast.Constant) else 0
                return owner[index] if isinstance(index, int) and -len(owner) <= index < len(owner) else None
            if isinstance(owner, nn.ModuleDict) and isinstance(node.slice, ast.Constant):
                return owner[node.slice.value] if node.slice.value in owner else None
        return None

    def _method(self, node: ast.expr) -> Any:
        """`self.encode` or `super().forward`: a function of the module's class (or of its bases)."""
        if not isinstance(node, ast.Attribute):
            return None
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id == "self":
            classes = type(self.module).__mro__
        elif isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
            classes = type(self.module).__mro__[1:]   # the defining class's base; the common case of one level
        else:
            return None
        for cls in classes:
            if cls is nn.Module:
                return None
            if node.attr in vars(cls) and inspect.isfunction(vars(cls)[node.attr]):
                return vars(cls)[node.attr]
        return None


def _in_order(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a block, compound ones before their bodies, in source order."""
    for statement in body:
        yield statement
        for field in ("body", "orelse", "finalbody"):
            block = getattr(statement, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield from _in_order(block)
        for handler in getattr(statement, "handlers", []):
            yield from _in_order(handler.body)


def _calls(statement: ast.stmt) -> Iterator[ast.Call]:
    """The calls of the statement itself (not those of the blocks inside it)."""
    if isinstance(statement, (ast.If, ast.While)):
        nodes: list[ast.AST] = [statement.test]
    elif isinstance(statement, (ast.For, ast.AsyncFor)):
        nodes = [statement.iter]
    elif isinstance(statement, (ast.With, ast.AsyncWith)):
        nodes = [item.context_expr for item in statement.items]
    elif isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Try)):
        nodes = []
    else:
        nodes = [statement]
    for node in nodes:
        yield from (child for child in ast.walk(node) if isinstance(child, ast.Call))


def _value_of(statement: ast.stmt) -> ast.AST | None:
    if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        return statement.value
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        return statement.iter
    return None


def _targets_of(statement: ast.stmt) -> set[str]:
    targets = statement.targets if isinstance(statement, ast.Assign) else \
        [getattr(statement, "target", None)]
    return {n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}


_METADATA = {"shape", "device", "dtype", "ndim", "size", "dim", "is_cuda"}


def _reads(node: ast.AST | None, names: set[str]) -> bool:
    """The expression reads the values of one of `names`: `x.shape[0]`, `x.device` and `len(x)` read what the
    tensor is, not its values, and carry nothing of it to a layer."""
    if node is None:
        return False
    if isinstance(node, ast.Attribute) and node.attr in _METADATA:
        return False
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return False
    if isinstance(node, ast.Name):
        return node.id in names
    if isinstance(node, ast.Subscript) and ast.unparse(node) in names:   # one entry of a dict argument
        return True
    return any(_reads(child, names) for child in ast.iter_child_nodes(node))


__all__ = ["LAYERS", "first_layer", "flag_arguments", "literal_choices", "none_accepted", "layer_reached_by", "layers_by_key", "registered_first_layer"]

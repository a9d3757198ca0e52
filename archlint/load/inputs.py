"""Example inputs: given, or inferred from the model's first layer (and said so in the report)."""
from __future__ import annotations

import argparse
import ast
import inspect
import itertools
import math
import re
from typing import Any, Callable, Iterable, Iterator, Sequence

import torch
from torch import nn

from archlint.load.arguments import shapes_in_source
from archlint.load.first_layer import (
    declared_ranks,
    first_layer,
    flag_arguments,
    layer_reached_by,
    layers_by_key,
    layers_by_level,
    literal_choices,
    none_accepted,
    size_arguments,
    split_features,
)
from archlint.load.lengths import declared_lengths, feature_sizes, layer_input_size
from archlint.mechanics.source import function_definition, source_position

DEFAULT_SPATIAL = {1: (256,), 2: (224, 224), 3: (16, 112, 112)}
DEFAULT_BATCH = 2
DEFAULT_SEQUENCE = 16
DEFAULT_FEATURES = 16   # the last axis of an input for a module that has nothing to size it from (an activation)


class InputInferenceError(Exception):
    pass


def as_input_tuple(example_inputs: Any) -> tuple[Any, ...]:
    if isinstance(example_inputs, torch.Tensor):
        return (example_inputs,)
    if isinstance(example_inputs, (list, tuple)):
        return tuple(example_inputs)
    raise InputInferenceError(f"example inputs must be a tensor or a tuple of tensors, got {type(example_inputs).__name__}")


_SIZE_ARGUMENTS = ("image_size", "img_size", "input_size", "resolution", "im_size", "input_shape", "img_shape")


def declared_image_size(model: nn.Module, arguments: dict[str, Any], flags: dict[str, Any] | None = None,
                        inner_arguments: dict[str, dict[str, Any]] | None = None) -> tuple[int, str] | None:
    """The image size the model says it is for: a constructor argument (`image_size=256`), the script's
    command-line default (`--img_size 32`), the constructor's own default (`def __init__(self, input_size=32)`: what
    a model built without that argument is built for), a timm `pretrained_cfg['input_size']`, a Hugging Face
    `config.image_size`; with where it was read."""
    inner = [(kwargs, f"the constructor argument {{key}}={{value}} of the {type(arguments[name]).__name__} it wraps")
             for name, kwargs in (inner_arguments or {}).items() if name in arguments]
    given = _size_among([(arguments, "its constructor argument {key}={value}"), *inner])
    if given is not None:
        return given
    for key, value in _settings_in_trees(arguments):   # a configuration it was given (`config.DATA.IMG_SIZE`)
        if key.rpartition(".")[2].lower() in _SIZE_ARGUMENTS and _side(value) is not None:
            return _side(value), f"its constructor argument {key}={value}"
    kept = _size_among([*_sizes_kept(model), (flags or {}, "the script's command-line default --{key} {value}"),
                        (_constructor_defaults(model), "its constructor's default {key}={value}")])
    if kept is not None:
        return kept
    cfg = getattr(model, "pretrained_cfg", None) or getattr(model, "default_cfg", None)
    if isinstance(cfg, dict) and isinstance(cfg.get("input_size"), (tuple, list)) and len(cfg["input_size"]) == 3:
        return int(cfg["input_size"][-1]), f"its pretrained_cfg input_size {tuple(cfg['input_size'])}"
    size = getattr(getattr(model, "config", None), "image_size", None)
    if isinstance(size, (tuple, list)) and size:
        size = size[-1]
    if isinstance(size, int) and size > 1:
        return size, f"its config.image_size={size}"
    return None


def _size_among(tables: list[tuple[dict[str, Any], str]]) -> tuple[int, str] | None:
    """The first image size in the tables (in order), with its table's sentence."""
    for values, source in tables:
        for key in _SIZE_ARGUMENTS:
            size = _side(values.get(key))
            if size is not None:
                return size, source.format(key=key, value=values[key])
    return None


def _side(value: Any) -> int | None:
    """The side of an image size given as a number or as (height, width)."""
    if isinstance(value, (tuple, list)) and value:
        value = value[-1]
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 1 else None


# what the modules of a model keep of the image they were built for (`self.img_size = to_2tuple(img_size)` in a
# patch embedding): read from the model as built, whatever built it (a config file, a registry, a builder)
_KEPT_SIZES = ("img_size", "image_size")


def _sizes_kept(model: nn.Module) -> Iterator[tuple[dict[str, Any], str]]:
    """(attributes, sentence) of the model and of its own submodules keeping an image size; the model itself may
    keep any of the size names, a part only the image's (an RNN part's `input_size` is its features)."""
    for name, module in model.named_modules():
        if type(module).__module__.startswith("torch."):
            continue
        keys = _SIZE_ARGUMENTS if not name else _KEPT_SIZES
        kept = {key: vars(module)[key] for key in keys if key in vars(module)}
        if kept:
            yield kept, f"the {{key}}={{value}} {'it' if not name else name} keeps"


def _settings_in_trees(arguments: dict[str, Any], depth: int = 3) -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of the settings inside arguments that are configuration trees (namespaces, dicts)."""
    for name, value in arguments.items():
        table = vars(value) if isinstance(value, argparse.Namespace) else value if isinstance(value, dict) else None
        if table is None or depth == 0:
            continue
        for key, inner in table.items():
            if isinstance(key, str):
                yield f"{name}.{key}", inner
        yield from ((f"{name}.{key}", inner) for key, inner in _settings_in_trees(
            {k: v for k, v in table.items() if isinstance(k, str)}, depth - 1))


def _constructor_defaults(model: nn.Module) -> dict[str, Any]:
    """The default values of the model class's constructor parameters (none for a library's own classes)."""
    if type(model).__module__.startswith("torch."):
        return {}
    try:
        parameters = inspect.signature(type(model).__init__).parameters
    except (TypeError, ValueError):
        return {}
    return {name: p.default for name, p in parameters.items() if p.default is not inspect.Parameter.empty}


def infer_inputs(model: nn.Module, device: str = "cpu", arguments: dict[str, Any] | None = None,
                 flags: dict[str, Any] | None = None,
                 inner_arguments: dict[str, dict[str, Any]] | None = None) -> tuple[tuple[Any, ...], str]:
    """Inputs that fit the first parametric layer (at the image size the model declares, if it does), and a
    sentence saying what was inferred."""
    keywords = keyword_only_forward(model)
    if keywords is not None:
        raise InputInferenceError(
            f"{type(model).__name__}.forward takes only keyword arguments (**{keywords}), whose names archlint cannot "
            f"guess, and it feeds a model positional inputs: lint a small wrapper module whose forward(x, ...) calls "
            f"the model with the keywords it needs (`return self.model(pixel_values=x)`)")
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    make_device = "meta" if device == "meta" else "cpu"
    by_key = layers_by_key(model)
    if by_key is not None:
        return _dict_of_features(by_key, dtype, make_device)
    by_level = layers_by_level(model)
    if by_level is not None:
        return _pyramid(by_level, dtype, make_device)
    layer = first_layer(model)
    if layer is None:
        return _layerless_inputs(model, dtype, make_device)[0]
    if isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
        shape = (DEFAULT_BATCH, DEFAULT_SEQUENCE)
        tokens = torch.randint(0, layer.num_embeddings, shape, generator=torch.Generator().manual_seed(0))
        note = f"inputs inferred from first layer {type(layer).__name__}({layer.num_embeddings}, ...): integer tokens {_said(shape)}"
        return (tokens.to(make_device),), note
    declared = declared_image_size(model, arguments or {}, flags, inner_arguments)
    # an image model whose first layer is a Linear after a patch rearrangement (einops ViTs): the image its own
    # constructor declares (a script's `--img_size` flag is for the data, and an MLP generator reads a vector)
    declared_by_model = declared_image_size(model, arguments or {}, {}, inner_arguments)
    if declared_by_model is not None and isinstance(layer, nn.Linear):
        declared = declared_by_model
        channels = next((arguments[k] for k in ("channels", "in_channels", "in_chans", "num_channels")
                         if isinstance((arguments or {}).get(k), int)), 3)
        shape = (DEFAULT_BATCH, channels, declared[0], declared[0])
        tensor = _noise(shape, dtype, make_device)
        return _per_tensor_argument(model, tensor, (
            f"input shape {_said(shape)} ({str(dtype).replace('torch.', '')}): the image size the model declares "
            f"({declared[1]}), {channels} channels"))
    if isinstance(layer, nn.RNNBase):
        shape = (DEFAULT_BATCH, DEFAULT_SEQUENCE, layer.input_size) if layer.batch_first else \
            (DEFAULT_SEQUENCE, DEFAULT_BATCH, layer.input_size)
        layout = "batch, sequence, features (batch_first)" if layer.batch_first else "sequence, batch, features"
        tensor = _noise(shape, dtype, make_device)
        return _per_tensor_argument(model, tensor, f"input shape {_said(shape)} ({layout}) inferred from first layer "
                                                   f"{type(layer).__name__}({layer.input_size}, ...)")
    if isinstance(layer, nn.Linear):
        shape = (DEFAULT_BATCH, layer.in_features)
    else:
        # a conv (transposed or not) reads in_channels maps of the default spatial size for its rank
        spatial = DEFAULT_SPATIAL[len(layer.kernel_size)]
        declared = declared if len(spatial) == 2 else None
        if declared is not None:
            spatial = (declared[0], declared[0])
        # a lazy conv (LazyConv2d) learns its channels at the first forward: an image's 3 is the guess
        shape = (DEFAULT_BATCH, layer.in_channels or 3, *spatial)
        if declared is not None:
            tensor = _noise(shape, dtype, make_device)
            return _per_tensor_argument(model, tensor, (
                f"input shape {_said(shape)} ({str(dtype).replace('torch.', '')}) at the image size the model declares "
                f"({declared[1]}), channels from first layer {type(layer).__name__}"))
    tensor = _noise(shape, dtype, make_device)
    note = f"input shape {_said(shape)} ({str(dtype).replace('torch.', '')}) inferred from first layer {type(layer).__name__}"
    return _per_tensor_argument(model, tensor, note)


PYRAMID_BASE = 64   # the finest level's side; each next level halves it (strides 8, 16, 32 of a 512 image)


def _pyramid(layers: list[nn.Module], dtype: torch.dtype, device: str) -> tuple[tuple[Any, ...], str]:
    """One list argument: a feature map per level, with the channels of the conv it reaches, each level half the
    side of the one before."""
    generator = torch.Generator().manual_seed(0)
    maps = []
    for level, layer in enumerate(layers):
        side = max(1, PYRAMID_BASE >> level)
        shape = (DEFAULT_BATCH, layer.in_channels, *(side,) * len(layer.kernel_size))
        maps.append(torch.randn(shape, generator=generator).to(dtype=dtype, device=device))
    said = ", ".join(_said(tuple(m.shape)) for m in maps)
    return (maps,), (f"input [{said}]: a list of feature maps, one per level the forward walks with its module "
                     f"list, each with the channels of the conv it reaches, each level half the side of the last")


def _dict_of_features(layers: dict[str, nn.Module], dtype: torch.dtype, device: str) -> tuple[tuple[Any, ...], str]:
    """One dict argument: under each key the forward reads, a tensor of the kind the layer it reaches takes."""
    generator = torch.Generator().manual_seed(0)
    features: dict[str, torch.Tensor] = {}
    for key, layer in layers.items():
        if isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
            features[key] = torch.randint(0, layer.num_embeddings, (DEFAULT_BATCH, DEFAULT_SEQUENCE), generator=generator)
        elif isinstance(layer, nn.Linear):
            features[key] = torch.randn(DEFAULT_BATCH, layer.in_features, generator=generator).to(dtype)
        elif isinstance(layer, nn.RNNBase):
            shape = (DEFAULT_BATCH, DEFAULT_SEQUENCE, layer.input_size) if layer.batch_first else \
                (DEFAULT_SEQUENCE, DEFAULT_BATCH, layer.input_size)
            features[key] = torch.randn(shape, generator=generator).to(dtype)
        else:
            shape = (DEFAULT_BATCH, layer.in_channels or 3, *DEFAULT_SPATIAL[len(layer.kernel_size)])
            features[key] = torch.randn(shape, generator=generator).to(dtype)
    features = {key: tensor.to(device) for key, tensor in features.items()}
    said = ", ".join(f"{key!r}: {_said(tuple(tensor.shape))}" for key, tensor in features.items())
    return (features,), f"input {{{said}}}: a dict of the features the forward reads, each of the kind its first layer takes"


def _said(shape: tuple[Any, ...]) -> str:
    """A shape as the user reads it: `[2, 4]`, also when a layer's size came from NumPy (`np.int64(4)`)."""
    return str([int(size) for size in shape])


def _none_parameters(model: nn.Module) -> list[str]:
    """The forward's positional parameters after the required ones that default to None (`time=None`)."""
    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            and p.default is None]


def _tensor_parameters(model: nn.Module) -> list[str]:
    """The forward's required positional parameters (each one takes a tensor)."""
    try:
        parameters = inspect.signature(model.forward).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in parameters if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def forward_inputs(model: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any],
                   skip_with_none: bool = False) -> tuple[tuple[Any, ...], list[str]]:
    """What a forward call received, as positional example inputs, and the keyword arguments that were left out:
    the keywords continue the positional arguments in the forward's own order (with `skip_with_none`, a skipped
    parameter whose default is None takes None: `model(x, time=t, class_labels=y)` -> `(x, t, None, y)` for
    `forward(x, time, self_cond=None, class_labels=None)`), up to one skipped with another default (`model(input_ids=...,
    attention_mask=..., labels=...)` -> `(input_ids, attention_mask)` for a forward whose third parameter is
    token_type_ids=False)."""
    parameters = [p for p in inspect.signature(model.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    positional = list(args)
    given = [i for i, p in enumerate(parameters) if p.name in kwargs and i >= len(args)]
    for index in range(len(args), max(given, default=-1) + 1):
        parameter = parameters[index]
        if parameter.name in kwargs:
            positional.append(kwargs[parameter.name])
        elif skip_with_none and parameter.default is None:   # None keeps the later keywords' places
            positional.append(None)
        else:
            break
    # a None that stood in for a skipped parameter goes; one the call gave a required parameter stays
    # (`model(src, trg, src_mask=None, trg_mask=None)`: the forward takes None for it)
    while positional and positional[-1] is None and len(positional) > len(args) \
            and parameters[len(positional) - 1].default is not inspect.Parameter.empty:
        positional.pop()
    used = {p.name for p in parameters[:len(positional)]}
    return tuple(positional), sorted(k for k in kwargs if k not in used)


def keyword_only_forward(model: nn.Module) -> str | None:
    """The name of forward's `**kwargs` when it takes nothing else (`forward(self, **batch)`), else None."""
    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        return None
    if parameters and all(p.kind in (p.VAR_KEYWORD, p.KEYWORD_ONLY) for p in parameters) and \
            any(p.kind is p.VAR_KEYWORD for p in parameters):
        return next(p.name for p in parameters if p.kind is p.VAR_KEYWORD)
    return None


def _per_tensor_argument(model: nn.Module, tensor: torch.Tensor, note: str,
                         channels_last: bool = False) -> tuple[tuple[Any, ...], str]:
    """One input per required tensor argument of forward (a siamese net's two images), the same shape each."""
    names = _tensor_parameters(model)
    if len(names) <= 1:
        return (tensor,), note
    flags, choices = flag_arguments(model), literal_choices(model)
    if flags:   # a flag the forward only tests (`if CUDA:`) is False: the plain path, on the CPU
        note += f"; {', '.join(f'`{names[i]}`' for i in sorted(flags) if i < len(names))} given False (the forward " \
                f"uses it only as a condition)"
    chosen = {i: literal for i, literal in choices.items() if 0 < i < len(names) and i not in flags}
    if chosen:   # `mode` compared only with literals (`if mode == "norm":`): its first branch
        note += f"; {', '.join(f'`{names[i]}` given {literal!r}' for i, literal in sorted(chosen.items()))} (the " \
                f"forward only compares it with literals: the first it is compared with)"
    made = [tensor] + [False if i in flags else chosen[i] if i in chosen else
                       _like_for(tensor, layer_reached_by(model, i), i, channels_last) for i in range(1, len(names))]
    tensors = [(name, m) for name, m in zip(names, made) if isinstance(m, torch.Tensor)]
    if all(m.shape == tensor.shape for _, m in tensors):
        return tuple(made), (f"{note}, one for each of forward's {len(tensors)} {'tensor ' if flags else ''}arguments "
                             f"({', '.join(name for name, _ in tensors)})" if len(tensors) > 1 else note)
    shapes = ", ".join(f"{name} {_said(tuple(m.shape))}" for name, m in tensors)
    return tuple(made), f"{note}; forward's arguments get {shapes}, each sized for the layer it reaches first"


def _like_for(first: torch.Tensor, layer: nn.Module | None, seed: int, channels_last: bool = False) -> torch.Tensor:
    """Another argument's tensor: the first one's shape, with the channels (a conv of the same rank, on the axis
    the first one has them) or features (a linear layer) of the layer this argument reaches first; for an
    embedding, one id per sample (class labels)."""
    shape = list(first.shape)
    if isinstance(layer, (nn.Embedding, nn.EmbeddingBag)) and shape:
        ids = torch.randint(0, layer.num_embeddings, (shape[0],), generator=torch.Generator().manual_seed(seed))
        return ids.to(first.device)
    if isinstance(layer, nn.modules.conv._ConvNd) and layer.in_channels and len(shape) == len(layer.kernel_size) + 2:
        shape[-1 if channels_last else 1] = layer.in_channels
    elif isinstance(layer, nn.Linear) and len(shape) >= 2:
        shape[-1] = layer.in_features
    if math.prod(shape) > MOST_ELEMENTS_PER_FIRST * max(first.numel(), 1):
        shape = list(first.shape)   # a map's positions times a wide layer's features: not what any code feeds
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed)).to(first)


MOST_ELEMENTS_PER_FIRST = 8   # another argument's tensor is at most this many times the first's


def inputs_from_shape(shapes: list[tuple[int, ...]], dtype: torch.dtype = torch.float32, device: str = "cpu") -> tuple[Any, ...]:
    generator = torch.Generator().manual_seed(0)
    made = []
    for shape in shapes:
        if dtype.is_floating_point:
            t = torch.randn(shape, generator=generator).to(dtype)
        else:
            t = torch.randint(0, 100, shape, generator=generator).to(dtype)
        made.append(t.to("meta") if device == "meta" else t)
    return tuple(made)


def parse_input_shapes(value: Any) -> tuple[tuple[int, ...], ...]:
    """`1,3,224,224`, `1x3x224x224`, [1, 3, 224, 224] or [[1, 3, 8], [1, 5]] -> tuple of shapes."""
    if isinstance(value, str):
        # separators: commas, spaces, or x/× between two numbers; every part must be a positive integer, so a
        # typo (`2,3,x,32`, `1,,3`) is an error, never a silently shorter shape
        parts = re.split(r"\s*,\s*|\s+|(?<=\d)[x×](?=\d)", value.strip())
        if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise ValueError(f"bad input shape {value!r} (expected positive integers like 1,3,224,224)")
        return (tuple(int(p) for p in parts),)
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return tuple(s for v in value for s in parse_input_shapes(v))
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                                 for v in value):
        return (tuple(value),)
    raise ValueError(f"bad input shape {value!r} (expected positive integers like [1, 3, 224, 224])")


def parse_dtype(name: str) -> torch.dtype:
    dtype = getattr(torch, str(name).replace("torch.", ""), None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"unknown dtype {name!r} (e.g. float32, float16, bfloat16, int64)")
    return dtype


# Image sizes people build models for, small first (MNIST, CIFAR, STL/ImageNet crops, Inception, ViT-384...).
COMMON_SIZES = (28, 32, 64, 96, 112, 128, 224, 256, 299, 384, 512)


def alternative_inputs(model: nn.Module, device: str = "cpu",
                       fed: Sequence[tuple[tuple[int, ...], str]] = (),
                       guess: tuple[tuple[Any, ...], str] | None = None) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Other inputs to try when the inferred one (`guess`, with its sentence) does not run: the shapes the user's
    code beside the model makes (`fed`, e.g. `torch.randn(4, 3, 256)` in its README), the guess's first tensor with
    other kinds of tensor for the other arguments, then the common image sizes for the first conv's channels,
    then one channel (grayscale); each with the sentence the report gives if it is chosen. Made one at a time, as
    they are tried: a wide conv's maps at every common size would hold gigabytes at once."""
    layer = first_layer(model)
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    fed_inputs = [fed_input(model, shape, where, device, "the first layer's guess did not run") for shape, where in fed]
    guessed = iter(_guessed_alternatives(model, layer, dtype, device))
    first = [guess] if guess is not None and guess[0] else _first_guess(model, device) or fed_inputs[:1]
    if not first:
        first = list(itertools.islice(guessed, 1))
        guessed = itertools.chain(first, guessed)
    # a module without a layer archlint knows has several readings of its weights (a few small tensors): each may
    # lead the other kinds
    readings = list(guessed) if layer is None else []
    if layer is None:
        guessed = iter(readings)
    leads = first + readings
    yield from fed_inputs
    # the ranks the forward's code unpacks its arguments' shapes into, when the guess has others: it cannot run
    yield from _at_declared_ranks(model, layer, first, fed_inputs, dtype, device)
    # several arguments of the lengths the model keeps (a window, its time features, a decoder's joined window)
    # before kinds of tensor that share one length; a single argument's own guesses (a vector) before them
    sequences = _declared_sequences(model, layer, dtype, device)
    several = len(_tensor_parameters(model)) > 1
    if several:
        yield from sequences
    for lead in leads:
        yield from _by_kind(model, [lead])
    yield from _split_channels(model, layer, first)
    yield from guessed
    if not several:
        yield from sequences


def _layerless_readings(model: nn.Module, dtype: torch.dtype, device: str) -> list[tuple[tuple[Any, ...], str]]:
    try:
        return _layerless_inputs(model, dtype, "meta" if device == "meta" else "cpu")[1:]
    except InputInferenceError:   # no forward to run
        return []


def _first_guess(model: nn.Module, device: str) -> list[tuple[tuple[Any, ...], str]]:
    try:
        return [infer_inputs(model, device)]
    except InputInferenceError:
        return []


# The kinds of tensor a forward argument other than the first may need, besides another of the first's shape:
# a vector of timesteps or scales (a timestep MLP), class ids (an nn.Embedding), a sequence of ids; beside node
# features (a 2-D first argument: one row per node) the graph's adjacency, a square matrix over those rows.
_KINDS = ("vector", "ids", "id sequence")
MOST_KIND_COMBINATIONS = 64


def _by_kind(model: nn.Module, first: list[tuple[tuple[Any, ...], str]]) -> list[tuple[tuple[Any, ...], str]]:
    """For a forward of several tensor arguments (`forward(x, t, y)`: an image latent, timesteps, class ids;
    `forward(x, adj)`: node features and adjacency): the first argument as guessed, each other one of each kind in
    turn (a flag the forward only tests stays False); the first combination the forward runs on wins (the session
    tries them in order, on fake tensors)."""
    required = _tensor_parameters(model)
    # parameters that default to None but that the forward may need all the same (`forward(x, time=None)`
    # raising "time conditioning was specified but time is not passed"): given a kind too, after every
    # combination that leaves them None
    names = [*required, *_none_parameters(model)][:max(len(required), MOST_SEQUENCE_ARGUMENTS)]
    if len(names) < 2 or not first or not first[0][0]:
        return []
    lead = first[0][0][0]
    batch = lead.shape[0] if lead.dim() else DEFAULT_BATCH
    ids = min((m.num_embeddings for m in model.modules() if isinstance(m, (nn.Embedding, nn.EmbeddingBag))), default=10)
    made = {
        "vector": lambda: torch.rand(batch, generator=torch.Generator().manual_seed(1)).to(lead) * 10,
        "ids": lambda: torch.randint(0, ids, (batch,), generator=torch.Generator().manual_seed(2)).to(lead.device),
        "id sequence": lambda: torch.randint(0, ids, (batch, DEFAULT_SEQUENCE),
                                             generator=torch.Generator().manual_seed(3)).to(lead.device),
        "adjacency": lambda: ((torch.rand(batch, batch, generator=torch.Generator().manual_seed(4)) > 0.5).float()
                              + torch.eye(batch)).clamp(max=1).to(lead),
        "flag": lambda: False,
        "none": lambda: None,
        "size": lambda: DEFAULT_SEQUENCE,
        "lengths": lambda: torch.full((batch,), DEFAULT_SEQUENCE, dtype=torch.int64, device=lead.device),
    }
    said = {"vector": "a vector (timesteps)", "ids": f"ids below {ids}", "id sequence": f"id sequences below {ids}",
            "adjacency": f"the adjacency of {batch} nodes, one per row of {names[0]}", "flag": "a flag",
            "size": "a size: the forward makes a range or a shape of it", "lengths": "lengths, the size's",
            "choice": "the first literal the forward compares it with", "none": ""}
    flags, sizes, choices = flag_arguments(model), size_arguments(model), literal_choices(model)
    makers = state_makers(model, names)
    # the model's own state for a batch of the lead's first axis, or of its second (a sequence-first RNN's input)
    batches = list(dict.fromkeys(lead.shape[:2] if lead.dim() >= 2 else (batch,)))
    made_by_model = {f"made for {b}": b for b in batches}
    said |= {kind: f"made by the model's {method}({b})" for kind, b in made_by_model.items()
             for method, _ in makers.values()}
    # beside a size (a sequence's longest length), the lengths of the sequences are an argument's kind too
    kinds = (*_KINDS, *(("adjacency",) if lead.dim() == 2 else ()), *(("lengths",) if sizes else ()))
    nones = none_accepted(model)

    def kinds_for(i: int) -> tuple[str, ...]:
        sure = ("flag",) if i in flags else ("size",) if i in sizes else ("choice",) if i in choices \
            else tuple(made_by_model) if i in makers else None
        # None first where the forward takes None (a parameter defaulting to it, or a mask it tests against None)
        return sure or (kinds if i < len(required) and i not in nones else ("none", *kinds))

    kinds_of = [kinds_for(i) for i in range(1, min(len(names), 4))]
    # past the fourth, only arguments of one sure kind, or None where the forward takes it (a Transformer's masks)
    for i in range(4, len(required)):
        kinds_of.append(kinds_for(i)[:1] if i in (flags | sizes | nones | set(choices) | set(makers)) else ())
        if not kinds_of[-1]:
            kinds_of.pop()
            break
    combinations = sorted(itertools.product(*kinds_of), key=lambda c: sum(k != "none" for k in c[len(required) - 1:]))
    found = []
    for kinds in combinations[:MOST_KIND_COMBINATIONS]:
        try:
            tensors = (lead, *(choices[i] if k == "choice" else makers[i][1](made_by_model[k]) if k in made_by_model
                               else made[k]() for i, k in enumerate(kinds, 1)))
        except Exception:   # the model's own maker refused that batch size
            continue
        while len(tensors) > len(required) and tensors[-1] is None:
            tensors = tensors[:-1]
        shown = ", ".join(f"{n}: {_described(x)}" + (f" ({said[k]})" if k and said[k] else "")
                          for n, x, k in zip(names, tensors, ("", *kinds)))
        found.append((tensors, f"inputs {shown}: the first kind of tensor per argument the forward runs on "
                                f"(the first: {first[0][1]})"))
    return found


def _described(value: Any) -> str:
    """A tensor by its shape and dtype (a tuple of them each so: an LSTM's (h, c)); anything else by its repr."""
    if isinstance(value, torch.Tensor):
        return f"{list(value.shape)} {str(value.dtype).replace('torch.', '')}"
    if isinstance(value, (tuple, list)) and value and all(isinstance(v, torch.Tensor) for v in value):
        return f"({', '.join(_described(v) for v in value)})"
    return repr(value)


def state_makers(model: nn.Module, names: Sequence[str]) -> dict[int, tuple[str, Callable[[int], Any]]]:
    """Forward parameters (by position in `names`, 0 the first) that the model makes itself: a method named for
    the parameter as its initial value (`init_hidden(bsz)` for `hidden`, `initHidden()`, `init_state(batch)`) that
    takes at most a batch size. Recurrent models publish their starting state so; each with the method's name and
    a call of it for a batch size."""
    methods = {_squashed(name): name for name in dir(type(model)) if _squashed(name).startswith(("init", "initial"))
               and callable(getattr(type(model), name, None))}
    makers = {}
    for index, parameter in enumerate(names):
        method = next((methods[key] for key in (f"init{_squashed(parameter)}", f"initial{_squashed(parameter)}")
                       if key in methods), None)
        bound = getattr(model, method) if method else None
        try:
            required = [p for p in inspect.signature(bound).parameters.values()
                        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)] \
                if bound is not None else None
        except (TypeError, ValueError):
            required = None
        if required is not None and len(required) <= 1 and _only_returns(bound):
            makers[index] = (method, (lambda b, m=bound, n=len(required): m(b) if n else m()))
    return makers


def _only_returns(method: Any) -> bool:
    """The method's code changes nothing it is given (no attribute or item written, no in-place `x_()` call such as
    `nn.init.zeros_`): calling it cannot change the user's model."""
    definition = function_definition(method)
    if definition is None:
        return False
    for node in ast.walk(definition):
        if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            return False
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr.endswith("_") \
                and not node.func.attr.startswith("_"):
            return False
    return True


def _squashed(name: str) -> str:
    return name.replace("_", "").lower()


MOST_SEQUENCE_ARGUMENTS = 4    # a forward's tensor arguments given declared lengths; later ones keep their defaults
MOST_SEQUENCE_COMBINATIONS = 160   # each is one forward, most fail at their first layer
# layers a sequence of vectors (batch, steps, features) reaches first; a 2-D conv reads images, not sequences
_SEQUENCE_LAYERS = (nn.Linear, nn.Conv1d, nn.RNNBase, nn.Embedding, nn.EmbeddingBag)


def _declared_sequences(model: nn.Module, layer: nn.Module | None, dtype: torch.dtype,
                        device: str) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Windows of the lengths the model keeps (`self.seq_len`, `self.label_len + self.pred_len`), one per tensor
    argument of its forward (a forecaster's `forward(x_enc, x_mark_enc, x_dec, x_mark_dec)`), the first argument
    with each feature count the model suggests (lengths.feature_sizes), each other one with the features of the
    first layer it reaches (else the first's): every argument of the first length, then ones of another length,
    fewer first. A window's steps come before its features (the forward moves them where its layers need them)."""
    lengths = declared_lengths(model)
    names = _tensor_parameters(model)[:MOST_SEQUENCE_ARGUMENTS]
    if not lengths or not names or not (layer is None or isinstance(layer, _SEQUENCE_LAYERS)):
        return
    reached = [layer_reached_by(model, i) if i else layer for i in range(len(names))]
    values = list(lengths)
    features = {length: feature_sizes(model, reached[0], length) or [DEFAULT_FEATURES] for length in values}
    combinations = sorted(
        ((lead, feature, *rest) for lead in values for feature in features[lead]
         for rest in itertools.product(values, repeat=len(names) - 1)),
        key=lambda c: (values.index(c[0]), sum(s != c[0] for s in c[2:]), features[c[0]].index(c[1]),
                       len(set(c[2:]) - {c[0]})))
    for lead, feature, *rest in combinations[:MOST_SEQUENCE_COMBINATIONS]:
        steps = (lead, *rest)
        made = [_window(layer_i, length, feature if i == 0 else _features_of(layer_i, length, feature), dtype,
                        device, i) for i, (layer_i, length) in enumerate(zip(reached, steps))]
        shown = ", ".join(f"{name}: {_said(tuple(tensor.shape))}" for name, tensor in zip(names, made))
        said = ", ".join(f"{lengths[length]} {length}" for length in dict.fromkeys(steps))
        yield tuple(made), (f"inputs {shown}: windows of the lengths the model keeps ({said}), their features "
                            f"those of the first layer each reaches, else a size of the model's own")


MOST_RANKED_COMBINATIONS = 24


def _at_declared_ranks(model: nn.Module, layer: nn.Module | None, first: list[tuple[tuple[Any, ...], str]],
                       fed: list[tuple[tuple[Any, ...], str]], dtype: torch.dtype,
                       device: str) -> Iterator[tuple[tuple[Any, ...], str]]:
    """For a forward whose code unpacks its arguments' shapes (`B, L, H, E = queries.shape`, `B, C, T = xt.shape`)
    into other ranks than the guess has: each such argument at its rank (a tensor of that rank the user's code
    makes first; then the size of the first layer it reaches, else the guess's last size, as features, last then
    first: `[B, steps, features]`, `[B, channels, steps]`, over the lengths the model keeps, else 16; a conv's own
    rank as an image of its channels; ids for an embedding). An argument whose rank is not said takes the guess's
    tensor, else a vector (timesteps), a window of its first layer's features, ids. Fewest departures first."""
    names = _tensor_parameters(model)[:MOST_SEQUENCE_ARGUMENTS]
    ranks = declared_ranks(model)
    guess = first[0][0] if first and first[0][0] else ()
    tensors = [t if isinstance(t, torch.Tensor) else None for t in guess]
    if not any(name in ranks and (i >= len(tensors) or tensors[i] is None or tensors[i].dim() != ranks[name])
               for i, name in enumerate(names)):
        return
    lead_features = next((t.shape[-1] for t in tensors if t is not None and t.dim()), DEFAULT_FEATURES)
    lengths = list(dict.fromkeys([*list(declared_lengths(model))[:2], DEFAULT_SEQUENCE]))
    make = "meta" if device == "meta" else "cpu"
    options: list[list[torch.Tensor]] = []
    for i, name in enumerate(names):
        reached = layer if i == 0 else layer_reached_by(model, i)
        rank = ranks.get(name)
        if rank is not None:
            made = [inputs[i] for inputs, _ in fed if i < len(inputs) and isinstance(inputs[i], torch.Tensor)
                    and inputs[i].dim() == rank]
            options.append([*made[:1], *_ranked(reached, rank, lead_features, lengths, dtype, make, i)])
            continue
        given = tensors[i] if i < len(tensors) and tensors[i] is not None else None
        features = layer_input_size(reached) or lead_features
        others = [torch.rand(DEFAULT_BATCH, generator=torch.Generator().manual_seed(i)).to(dtype=dtype, device=make),
                  _window(reached, lengths[0], features, dtype, make, i),
                  torch.randint(0, 10, (DEFAULT_BATCH,), generator=torch.Generator().manual_seed(i)).to(make)]
        options.append([*([given] if given is not None else []), *others])
    combinations = sorted(itertools.product(*(range(len(o)) for o in options)),
                          key=lambda c: (sum(k > 0 for k in c), max(c), sum(c)))
    said = ", ".join(f"{name} {rank}" for name, rank in ranks.items() if name in names)
    for chosen in combinations[:MOST_RANKED_COMBINATIONS]:
        made = tuple(options[i][k] for i, k in enumerate(chosen))
        shown = ", ".join(f"{name}: {_said(tuple(tensor.shape))}" + (" ids" if not tensor.is_floating_point() else "")
                          for name, tensor in zip(names, made))
        yield made, (f"inputs {shown}: the ranks the forward's code unpacks ({said}), sized by the first layer "
                     f"each reaches")


def _ranked(layer: nn.Module | None, rank: int, lead_features: int, lengths: list[int], dtype: torch.dtype,
            device: str, seed: int) -> Iterator[torch.Tensor]:
    """Tensors of `rank` dimensions for an argument whose first layer is `layer` (see _at_declared_ranks)."""
    generator = torch.Generator().manual_seed(seed)
    if isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
        for length in lengths:
            yield torch.randint(0, layer.num_embeddings, (DEFAULT_BATCH, *(length,) * (rank - 1)),
                                generator=generator).to(device)
        return
    if isinstance(layer, nn.modules.conv._ConvNd) and rank == len(layer.kernel_size) + 2 and layer.in_channels:
        shape = (DEFAULT_BATCH, layer.in_channels, *DEFAULT_SPATIAL[len(layer.kernel_size)])
        yield torch.randn(shape, generator=generator).to(dtype=dtype, device=device)
    features = layer_input_size(layer) or getattr(layer, "in_channels", None) or lead_features
    if rank <= 2:
        yield torch.randn((DEFAULT_BATCH, features)[:rank], generator=generator).to(dtype=dtype, device=device)
        return
    for length in lengths:
        inner = (length,) * (rank - 2)
        for shape in ((DEFAULT_BATCH, *inner, features), (DEFAULT_BATCH, features, *inner)):
            yield torch.randn(shape, generator=generator).to(dtype=dtype, device=device)


def _features_of(layer: nn.Module | None, length: int, lead_features: int) -> int:
    """Another argument's features: its first layer's input size, unless that is its length (the layer works
    along the steps) or it reaches no layer; then the first argument's."""
    size = layer_input_size(layer)
    return size if size and size != length else lead_features


def _window(layer: nn.Module | None, length: int, features: int, dtype: torch.dtype, device: str,
            seed: int) -> torch.Tensor:
    """One argument: ids for an embedding, else (batch, steps, features), steps first for a recurrent layer
    that is not batch_first."""
    generator = torch.Generator().manual_seed(seed)
    if isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
        return torch.randint(0, layer.num_embeddings, (DEFAULT_BATCH, length), generator=generator).to(device)
    shape = (DEFAULT_BATCH, length, features)
    if isinstance(layer, nn.RNNBase) and not layer.batch_first:
        shape = (length, DEFAULT_BATCH, features)
    return torch.randn(shape, generator=generator).to(dtype).to(device)


def _split_channels(model: nn.Module, layer: nn.Module | None,
                    first: list[tuple[tuple[Any, ...], str]]) -> list[tuple[tuple[Any, ...], str]]:
    """For a forward of two tensors whose first conv takes both concatenated (`torch.cat([x, c], dim=1)`: a
    generator conditioned on a label vector or map): an image of 3 (then 1) of the conv's channels, and the rest as
    a vector per sample (broadcast over the image by the forward), then as a map of the image's size."""
    names = _tensor_parameters(model)
    if len(names) != 2 or not isinstance(layer, nn.modules.conv._ConvNd) or not first or not first[0][0]:
        return []
    lead = first[0][0][0]
    if lead.dim() != len(layer.kernel_size) + 2 or lead.shape[1] != layer.in_channels:
        return []
    found = []
    for image_channels in (3, 1):
        rest = layer.in_channels - image_channels
        if rest < 1:
            continue
        image = lead[:, :image_channels].clone()
        for condition in ((lead.shape[0], rest), (lead.shape[0], rest, *lead.shape[2:])):
            tensor = torch.rand(condition, generator=torch.Generator().manual_seed(1)).to(lead)
            found.append(((image, tensor), f"inputs {names[0]}: {_said(tuple(image.shape))}, {names[1]}: "
                                           f"{_said(condition)}: the first conv's {layer.in_channels} channels split "
                                           f"between them (the forward concatenates them)"))
    return found


def fed_input(model: nn.Module, shape: tuple[int, ...], where: str, device: str = "cpu",
              why: str = "") -> tuple[tuple[Any, ...], str]:
    """An input of a shape the user's code makes (batch at least 2, so train-mode BatchNorm runs), one per
    tensor argument of forward, with the sentence saying where the shape came from and why it was used."""
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    full = (max(DEFAULT_BATCH, shape[0]) if shape[0] <= 32 else DEFAULT_BATCH, *shape[1:])
    tensor = _noise(full, dtype, device)
    return _per_tensor_argument(model, tensor, f"input shape {list(full)} ({str(dtype).replace('torch.', '')}) as the "
                                               f"user's code makes it ({where}){'; ' + why if why else ''}")


def _guessed_alternatives(model: nn.Module, layer: nn.Module | None, dtype: torch.dtype,
                          device: str) -> Iterable[tuple[tuple[Any, ...], str]]:
    if layer is None:
        return _layerless_readings(model, dtype, device)
    if isinstance(layer, nn.RNNBase):
        return _sequence_lengths(model, layer, dtype, device)
    if isinstance(layer, (nn.Embedding, nn.EmbeddingBag)):
        return _id_lengths(model, layer, device)
    if isinstance(layer, nn.Linear):
        # the guess was an image (a declared size): the first layer's own shape; or vectors in a sequence
        # (batch, positions, features), as a policy or token-mixing model whose forward works on dim=2 takes them
        shape = (DEFAULT_BATCH, DEFAULT_SEQUENCE, layer.in_features)
        tensor = _noise(shape, dtype, device)
        # or the features along the sequence's first axis, which the forward moves last (`x.permute(0, 2, 1)`:
        # a forecaster mapping its input window to the forecast, channel by channel)
        across = (DEFAULT_BATCH, layer.in_features, DEFAULT_SEQUENCE)
        vector = (DEFAULT_BATCH, layer.in_features)   # the guess from its constructor's image size did not run
        return [_per_tensor_argument(model, _noise(vector, dtype, device), (
            f"input shape {_said(vector)} ({str(dtype).replace('torch.', '')}): the first layer's "
            f"{layer.in_features} features (an image of the size its constructor declares did not run)")),
                *_split_features(model, layer, dtype, device),
                _per_tensor_argument(model, tensor, (
            f"input shape {_said(shape)} ({str(dtype).replace('torch.', '')}): {DEFAULT_SEQUENCE} vectors of the first "
            f"layer's {layer.in_features} features (a batch of single vectors did not run)")),
            _per_tensor_argument(model, _noise(across, dtype, device), (
                f"input shape {_said(across)} ({str(dtype).replace('torch.', '')}): the first layer's "
                f"{layer.in_features} features along the input's second axis, {DEFAULT_SEQUENCE} of them (the forward "
                f"moves that axis last; a sequence of vectors did not run)"))]
    if not isinstance(layer, nn.modules.conv._ConvNd):
        return []
    return _conv_maps(model, layer, dtype, device)


def _conv_maps(model: nn.Module, layer: nn.modules.conv._ConvNd, dtype: torch.dtype,
               device: str) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Maps for the first conv at the common sizes, its channels first, or last where the forward moves them (at
    each size the two: only one of them can run, and a wide conv's tries are slow), then one channel, each made
    when it is tried."""
    dims = len(layer.kernel_size)
    make_device = "meta" if device == "meta" else "cpu"
    last = _channels_last(model, layer, dtype, make_device)
    # a code the forward views as a 1×1 map (`z.view(b, c, 1, 1)`): a transposed conv first is a generator's or a
    # decoder's, which start from one; tried first for them, last for the others
    code = _code_vector(model, layer, dtype, make_device)
    if isinstance(layer, nn.modules.conv._ConvTransposeNd):
        yield code
    for channels in dict.fromkeys((layer.in_channels, 1)):
        for size in COMMON_SIZES:
            spatial = (size,) * dims if dims < 3 else (16, size, size)
            shape = (DEFAULT_BATCH, channels, *spatial)
            tensor = _noise(shape, dtype, make_device)
            yield _per_tensor_argument(model, tensor, (
                f"input shape {_said(shape)} ({str(dtype).replace('torch.', '')}): the first of the common sizes "
                f"{', '.join(map(str, COMMON_SIZES))} that the model runs on (the first layer's default "
                f"{DEFAULT_SPATIAL[dims][0]} px did not)"))
            if channels == layer.in_channels and size != layer.in_channels:
                yield next(last)
    yield from _class_maps(layer, dims, make_device)
    if not isinstance(layer, nn.modules.conv._ConvTransposeNd):
        yield code


def _code_vector(model: nn.Module, layer: nn.modules.conv._ConvNd, dtype: torch.dtype,
                 device: str) -> tuple[tuple[Any, ...], str]:
    shape = (DEFAULT_BATCH, layer.in_channels)
    return _per_tensor_argument(model, _noise(shape, dtype, device), (
        f"input shape {_said(shape)} ({str(dtype).replace('torch.', '')}): a vector of the first layer's "
        f"{layer.in_channels} channels per sample, which the forward views as a map (maps did not run)"))


def _channels_last(model: nn.Module, layer: nn.modules.conv._ConvNd, dtype: torch.dtype,
                   device: str) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Inputs with the first conv's channels on the last axis (B, *positions, C), which the forward moves to axis 1
    before it (`conv(x.permute(0, 2, 1))`: a forecaster's series of time steps, each a vector of variables; an
    image stored height, width, channels), at the common sizes; every other argument on the same layout."""
    dims = len(layer.kernel_size)
    for size in COMMON_SIZES:
        if size == layer.in_channels:   # channels first and last would be the same shape
            continue
        shape = (DEFAULT_BATCH, *((size,) * dims if dims < 3 else (16, size, size)), layer.in_channels)
        yield _per_tensor_argument(model, _noise(shape, dtype, device), (
            f"input shape {_said(shape)} ({str(dtype).replace('torch.', '')}): the first conv's {layer.in_channels} "
            f"channels last, the first of the common sizes that runs (the forward moves them to axis 1; channels "
            f"first did not run)"), channels_last=True)


def _layerless_inputs(model: nn.Module, dtype: torch.dtype, device: str) -> list[tuple[tuple[Any, ...], str]]:
    """Inputs for a module without a layer archlint knows, in the order to try them: a layer of its own kept as
    its weights (`weight_mu`, `a_2` of a hand-written linear or layer norm) takes what they multiply or scale, as
    torch lays weights out (a matrix is [out, in], a conv's weight [out, in, *kernel], a vector scales the last
    axis); a module without parameters (an activation, an attention over given projections) any tensor, the same
    for each of its tensor arguments."""
    if getattr(type(model).forward, "__name__", "") == "_forward_unimplemented":
        raise InputInferenceError("cannot infer an input shape (no Conv/Linear/Embedding layer found, and the model "
                                  "defines no forward()); pass --input-shape")
    first = next(iter(model.named_parameters()), None)
    shapes: list[tuple[tuple[int, ...], str]] = []
    if first is not None:
        name, weight = first
        size = _said(tuple(weight.shape))
        said = f"its first parameter `{name}` {size}"
        if weight.dim() == 2:
            shapes += [((DEFAULT_BATCH, weight.shape[1]), f"the {weight.shape[1]} features {said} multiplies as "
                                                          f"torch lays out a linear weight [out, in]"),
                       ((DEFAULT_BATCH, weight.shape[0]), f"the {weight.shape[0]} features {said} multiplies as "
                                                          f"[in, out] (x @ W)")]
        elif weight.dim() == 1:
            shapes.append(((DEFAULT_BATCH, weight.shape[0]), f"the {weight.shape[0]} features {said} scales"))
        elif weight.dim() - 2 in DEFAULT_SPATIAL:
            shapes.append(((DEFAULT_BATCH, weight.shape[1], *DEFAULT_SPATIAL[weight.dim() - 2]),
                           f"maps of the {weight.shape[1]} channels {said} convolves, as torch lays out a conv "
                           f"weight [out, in, *kernel]"))
    nothing = "no layer archlint knows and no parameter" if first is None else "the first that runs"
    shapes += [((DEFAULT_BATCH, DEFAULT_FEATURES), f"a batch of {DEFAULT_FEATURES} features ({nothing})"),
               ((DEFAULT_BATCH, DEFAULT_SEQUENCE, DEFAULT_FEATURES),
                f"a batch of {DEFAULT_SEQUENCE} vectors of {DEFAULT_FEATURES} features ({nothing})"),
               ((DEFAULT_BATCH, 3, 32, 32), f"a batch of 3-channel 32 px images ({nothing})")]
    kind = str(dtype).replace("torch.", "")
    first_said: dict[tuple[int, ...], str] = {}
    for shape, why in shapes:   # a square weight's two readings are one shape, said the first way
        first_said.setdefault(shape, why)
    return [_per_tensor_argument(model, _noise(shape, dtype, device), f"input shape {_said(shape)} ({kind}): {why}")
            for shape, why in first_said.items()]


def _split_features(model: nn.Module, layer: nn.Linear, dtype: torch.dtype,
                    device: str) -> list[tuple[tuple[Any, ...], str]]:
    """For a forward that splits its input's last axis into parts of sizes it keeps before its first Linear
    (positions and view directions, `torch.split(x, [self.input_ch, self.input_ch_views], dim=-1)`): vectors of
    their sum."""
    features = split_features(model)
    if features is None or features == layer.in_features:
        return []
    shape = (DEFAULT_BATCH, features)
    return [_per_tensor_argument(model, _noise(shape, dtype, device), (
        f"input shape {_said(shape)} ({str(dtype).replace('torch.', '')}): the {features} features the forward splits "
        f"its input into before its first layer (of {layer.in_features})"))]


def _noise(shape: tuple[int, ...], dtype: torch.dtype, device: str) -> torch.Tensor:
    """A seeded random input of that shape, on the meta device for a meta model, else on the CPU."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(0)).to(
        dtype=dtype, device="meta" if device == "meta" else "cpu")


def _class_maps(layer: nn.modules.conv._ConvNd, dims: int, device: str) -> list[tuple[tuple[Any, ...], str]]:
    """Maps of class ids below the first conv's channel count, which a model one-hot encodes before it (a
    PixelCNN over a VQ-VAE's codes, a segmentation map as a condition): the common sizes, no channel axis."""
    if dims != 2 or not layer.in_channels or layer.in_channels < 2:
        return []
    found = []
    for size in COMMON_SIZES:
        shape = (DEFAULT_BATCH, size, size)
        ids = torch.randint(0, layer.in_channels, shape, generator=torch.Generator().manual_seed(0)).to(device)
        found.append(((ids,), f"input shape {_said(shape)} (int64): maps of class ids below the first convolution's "
                              f"{layer.in_channels} channels (which the model one-hot encodes), the first of the "
                              f"common sizes that runs (an image did not)"))
    return found


def _sequence_lengths(model: nn.Module, layer: nn.RNNBase, dtype: torch.dtype,
                      device: str) -> list[tuple[tuple[Any, ...], str]]:
    """Sequence lengths to try for a recurrent first layer: as long as its feature size (a 28×28 image read row
    by row), then the common sizes."""
    found = []
    for length in dict.fromkeys((layer.input_size, *COMMON_SIZES)):
        shape = (DEFAULT_BATCH, length, layer.input_size) if layer.batch_first else \
            (length, DEFAULT_BATCH, layer.input_size)
        found.append(_per_tensor_argument(model, _noise(shape, dtype, device), (
            f"input shape {_said(shape)}: the first sequence length the model runs on (tried its feature size "
            f"{layer.input_size}, then {', '.join(map(str, COMMON_SIZES))}; the default {DEFAULT_SEQUENCE} did not)")))
    return found


def _id_lengths(model: nn.Module, layer: nn.Embedding | nn.EmbeddingBag,
                device: str) -> list[tuple[tuple[Any, ...], str]]:
    """Sequence lengths to try for a model that starts with an embedding: the rows of its position tables first (a
    text encoder adds its 77 learned positions to every sequence), then shorter ones (a context of a few tokens,
    `block_size`), then longer."""
    found = []
    tables = _table_lengths(model, layer)
    for length in dict.fromkeys((*tables, 8, 4, 2, 1, 32, 64, 128, 256, 512)):
        ids = torch.randint(0, layer.num_embeddings, (DEFAULT_BATCH, length), generator=torch.Generator().manual_seed(0))
        why = f"the {length} positions of its table `{tables[length]}`" if length in tables else \
            "the first sequence length the model runs on"
        found.append(_per_tensor_argument(model, ids.to("meta" if device == "meta" else "cpu"), (
            f"input shape {[DEFAULT_BATCH, length]} (int64 ids below {layer.num_embeddings}): {why} (the default "
            f"{DEFAULT_SEQUENCE} did not run)")))
    return found


MOST_TABLE_ROWS = 4096   # longer tables are a vocabulary or a cache, not positions to fill


def _table_lengths(model: nn.Module, embedding: nn.Embedding | nn.EmbeddingBag) -> dict[int, str]:
    """The rows of the model's position tables, with the table's name: parameters, buffers or other embeddings of
    [N, width] or [1, N, width] for the embedding's width, which an embedded sequence of N positions is added to."""
    width = embedding.embedding_dim
    found: dict[int, str] = {}
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        shape = tuple(tensor.shape)
        if tensor is embedding.weight or len(shape) not in (2, 3) or shape[-1] != width or \
                (len(shape) == 3 and shape[0] != 1):
            continue
        if 1 < shape[-2] <= MOST_TABLE_ROWS:
            found.setdefault(int(shape[-2]), name)
    return found


def inputs_from_source(model: nn.Module, source: str, file: str, device: str = "cpu") -> tuple[tuple[Any, ...], str] | None:
    """An input of the first shape in the user's source that fits the model's first layer (batch at least 2, so
    train-mode BatchNorm runs), and the sentence saying where it came from; None when there is none. `file` is
    the path of `source` (a notebook's position is shown as cell and line)."""
    layer = first_layer(model)
    if not isinstance(layer, (nn.modules.conv._ConvNd, nn.Linear)):
        return None
    for shape, line in shapes_in_source(source):
        if isinstance(layer, nn.Linear):
            fits = len(shape) == 2 and shape[1] == layer.in_features
        else:
            fits = len(shape) == 2 + len(layer.kernel_size) and shape[1] == layer.in_channels
        if fits:
            dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
            full = (max(DEFAULT_BATCH, shape[0]) if shape[0] <= 32 else DEFAULT_BATCH, *shape[1:])
            tensor = _noise(full, dtype, device)
            return (tensor,), f"input shape {list(full)} ({str(dtype).replace('torch.', '')}) as the file's own code " \
                              f"builds it ({source_position(file, line)})"
    return None

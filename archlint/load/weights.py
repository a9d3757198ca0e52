"""Building a model whose code downloads its pretrained weights, without them.

Published models fetch weights inside their constructors (`ResNet101(pretrained=True)` calling
`model_zoo.load_url(url)`, torchvision's `weights.get_state_dict()`, a hard-coded `pretrained=True` deep in a
backbone builder). archlint never downloads; the architecture does not depend on the weights. So when a build was
refused a download, it is built once more with torch.hub's weight loader giving an empty state dict, and loading an
empty state dict doing nothing: every layer keeps the initialisation its code gives it, and the report says so.
Downloads by other means (a hand-written HTTP request, a hub repository's code) are still refused and said.
"""
from __future__ import annotations

import ast
import contextlib
import inspect
import re
import sys
from typing import Any, Iterator

import torch.hub
from torch import nn

from archlint.load.sandbox import NetworkRefused
from archlint.mechanics.source import function_definition

# the keywords by which published constructors and factories choose their weights, as Python code names them:
# `pretrained`, `pretrained_base`, `use_pretrained`, `weights`, `weights_backbone` (timm's `pretrained_cfg` is the
# description of a checkpoint, and `weights_init` a scheme: neither loads anything)
_WEIGHT_KEYWORD = re.compile(r"^(use_|load_)?pretrained(?!_cfg)(_\w+)?$|^weights(_backbone|_encoder)?$")


def is_weight_keyword(name: str | None) -> bool:
    return bool(name and _WEIGHT_KEYWORD.search(name))


def no_weights(name: str) -> Any:
    """A weight keyword's value for none: False for a `pretrained` flag, None for `weights` (a name or an enum)."""
    return None if name.startswith("weights") else False


def weights_off(callee: Any, args: tuple[Any, ...], kwargs: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """The weight keywords of a class or factory whose defaults load weights (`pretrained=True`,
    `pretrained_base=True`, `weights="imagenet"`), not given by `args` or `kwargs`, set to no weights: the
    architecture does not depend on them. A factory that hands its `**kwargs` on (`def get_psp_citys(**kwargs):
    return get_psp("citys", **kwargs)`) passes those of the functions it hands them to."""
    try:
        signature = inspect.signature(callee)
        given = signature.bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        return {}
    off = {p.name: no_weights(p.name) for p in signature.parameters.values()
           if is_weight_keyword(p.name) and p.name not in given and p.default is not p.empty and p.default}
    handing = next((p.name for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD), None)
    if handing is None or depth >= MOST_HANDING_DEPTH or not inspect.isfunction(callee):
        return off
    for handed_to in _handed_kwargs(callee, handing):
        for name, value in weights_off(handed_to, (), {**kwargs, **off}, depth + 1).items():
            if name not in given:
                off.setdefault(name, value)
    return off


MOST_HANDING_DEPTH = 3   # factories handing their keywords on: get_psp_resnet50_voc -> get_psp -> PSPNet


def _handed_kwargs(function: Any, kwargs_name: str) -> list[Any]:
    """The callables of the function's module that it calls with its `**kwargs` (`get_psp(..., **kwargs)`)."""
    definition = function_definition(function)
    if definition is None:
        return []
    found = []
    for node in ast.walk(definition):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and any(
                k.arg is None and isinstance(k.value, ast.Name) and k.value.id == kwargs_name for k in node.keywords):
            called = function.__globals__.get(node.func.id)
            if callable(called):
                found.append(called)
    return found


@contextlib.contextmanager
def hub_weights(skip: bool) -> Iterator[list[str]]:
    """Inside the block, `torch.hub.load_state_dict_from_url` (under any name a module imported it by) refuses the
    download (`skip=False`: without a socket opened or a "Downloading" line printed), or returns an empty state
    dict, and `load_state_dict` of an empty state dict leaves the weights as they are (`skip=True`). Yields the
    URLs asked for."""
    asked: list[str] = []
    original_loader = torch.hub.load_state_dict_from_url
    original_load = nn.Module.load_state_dict

    def refused_or_empty(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        asked.append(url)
        if not skip:
            raise NetworkRefused("a download: archlint uses no network while it builds a model")
        return {}

    def load_unless_empty(self: nn.Module, state_dict: Any, *args: Any, **kwargs: Any) -> Any:
        if asked and hasattr(state_dict, "__len__") and len(state_dict) == 0:
            return nn.modules.module._IncompatibleKeys([], [])
        return original_load(self, state_dict, *args, **kwargs)

    rebound = _rebind(original_loader, refused_or_empty)
    if skip:
        nn.Module.load_state_dict = load_unless_empty   # type: ignore[method-assign]
    try:
        yield asked
    finally:
        nn.Module.load_state_dict = original_load   # type: ignore[method-assign]
        for namespace, name in rebound:
            namespace[name] = original_loader


def _rebind(original: Any, replacement: Any) -> list[tuple[dict[str, Any], str]]:
    """Every module-level name bound to `original` now bound to `replacement` (`from torch.hub import
    load_state_dict_from_url` copies the function into the importing module): the (namespace, name) pairs."""
    rebound = []
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for name, value in list(namespace.items()):
            if value is original:
                namespace[name] = replacement
                rebound.append((namespace, name))
    return rebound

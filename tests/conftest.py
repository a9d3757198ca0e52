"""Shared fixtures: torchvision zoo models built once per session, and their traces."""
from __future__ import annotations

import functools
from typing import Callable

import pytest
import torch

# the repositories archlint reads as input (their own tests included) are fixtures, not this project's tests
collect_ignore_glob = ["engine/reach_cases/*", "robustness/cases/*"]


@functools.lru_cache(maxsize=None)
def _build(name: str, **kwargs: object) -> torch.nn.Module:
    import torchvision

    from archlint.load.construction import recording_sites

    torch.manual_seed(0)
    with recording_sites():
        return torchvision.models.get_model(name, weights=None, **kwargs).eval()


def zoo_input(name: str) -> torch.Tensor:
    size = 299 if name.startswith("inception") else 224
    return torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))


@pytest.fixture(scope="session", name="zoo_input")
def zoo_input_fixture() -> Callable[[str], torch.Tensor]:
    """zoo_input("inception_v3") -> the fixed example input the zoo fixtures trace with."""
    return zoo_input


@pytest.fixture(scope="session")
def zoo() -> Callable[..., torch.nn.Module]:
    """zoo("resnet50") -> a cached torchvision model (weights=None, eval mode). Do not modify it."""
    return _build


@functools.lru_cache(maxsize=None)
def _trace(name: str):
    from archlint.analysis.graph import build_graph
    from archlint.trace.tracers import trace_model

    model = _build(name)
    result = trace_model(model, (zoo_input(name),))
    return result, build_graph(result.graph_module, model)


@pytest.fixture(scope="session")
def traced() -> Callable[[str], tuple]:
    """traced("resnet50") -> (TraceResult, ArchGraph), cached for the session."""
    return _trace


@functools.lru_cache(maxsize=None)
def _trace_on_meta(name: str):
    import time

    import torchvision

    from archlint.analysis.graph import build_graph
    from archlint.load.device import build_model
    from archlint.trace.tracers import trace_model

    model = build_model(lambda: torchvision.models.get_model(name, weights=None), "meta").model.eval()
    started, cpu_started = time.perf_counter(), time.process_time()
    result = trace_model(model, (zoo_input(name),))
    seconds = {"wall": time.perf_counter() - started, "cpu": time.process_time() - cpu_started}
    return model, result, build_graph(result.graph_module, model), seconds


@pytest.fixture(scope="session")
def traced_on_meta() -> Callable[[str], tuple]:
    """traced_on_meta("vit_h_14") -> (model, TraceResult, ArchGraph, {"wall": s, "cpu": s} of trace + shapes).

    The model is built on the meta device (shapes, no weight memory), so the whole torchvision zoo fits
    in one session; cached, so every test asking for the same model shares one trace.
    """
    return _trace_on_meta

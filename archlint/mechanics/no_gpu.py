"""Moves to CUDA kept on the CPU, on a machine without a GPU.

Research scripts and notebooks say where their model runs as they build it (`model = Net().cuda()`,
`device = "cuda"; net.to(device)`), and models say where their tensors are made (`UNet(device="cuda")` whose
forward calls `torch.arange(n, device=self.device)`). Where a tensor or a module lives does not change the
architecture archlint lints, so on a machine without a GPU such a move leaves it where it is (a dtype given with it
still applies), a tensor asked for on CUDA is made on the CPU, and the place is named in the report.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterator

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from archlint.mechanics.frames import ENGINE_DIR, is_user_file
from archlint.mechanics.source import display_path


@contextlib.contextmanager
def cuda_stays_on_cpu() -> Iterator[list[str]]:
    """Inside the block, without a GPU, `.cuda()` and `.to("cuda")` of modules and tensors keep them on the CPU;
    the list yielded gets the places of the user's code that asked (`train.py:41`)."""
    places: list[str] = []
    if torch.cuda.is_available():
        yield places
        return
    patched = {(nn.Module, "cuda"): _staying(places), (torch.Tensor, "cuda"): _staying(places),
               (nn.Module, "to"): _moving_without_cuda(nn.Module.to, places),
               (torch.Tensor, "to"): _moving_without_cuda(torch.Tensor.to, places)}
    saved = {key: getattr(*key) for key in patched}
    for (owner, name), replacement in patched.items():
        setattr(owner, name, replacement)
    try:
        with _MadeOnCpu(places):
            yield places
    finally:
        for (owner, name), original in saved.items():
            setattr(owner, name, original)


def _staying(places: list[str]) -> Callable[..., Any]:
    def cuda(self: Any, *args: Any, **kwargs: Any) -> Any:
        _note_place(places)
        return self
    return cuda


def _moving_without_cuda(original: Callable[..., Any], places: list[str]) -> Callable[..., Any]:
    def to(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            device, dtype, _, memory_format = torch._C._nn._parse_to(*args, **kwargs)
        except (TypeError, RuntimeError):
            return original(self, *args, **kwargs)   # a call torch itself refuses: its own error
        if device is None or device.type != "cuda":
            return original(self, *args, **kwargs)
        _note_place(places)
        rest = {k: v for k, v in (("dtype", dtype), ("memory_format", memory_format)) if v is not None}
        return original(self, **rest) if rest else self
    return to


class _MadeOnCpu(TorchFunctionMode):
    """Every torch function asked for a tensor on CUDA (`device="cuda"`, `torch.device("cuda", 0)`) makes it on
    the CPU (see cuda_made_on). A torch function mode sees the calls fx and torch.export record too, so the graph says "cpu"."""

    def __init__(self, places: list[str]) -> None:
        super().__init__()
        self.places = places

    def __torch_function__(self, func: Any, types: Any, args: tuple[Any, ...] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if _is_cuda(kwargs.get("device")):
            _note_place(self.places)
            kwargs = {**kwargs, "device": _made_on[-1]}
        return func(*args, **kwargs)


_made_on = ["cpu"]   # where a tensor asked for on CUDA is made: the CPU, or the meta device in a forward on meta


@contextlib.contextmanager
def cuda_made_on(device: str) -> Iterator[None]:
    """Inside the block a tensor asked for on CUDA is made on `device` (a forward on meta tensors: on meta, beside
    them)."""
    _made_on.append(device)
    try:
        yield
    finally:
        _made_on.pop()


def _is_cuda(device: Any) -> bool:
    if isinstance(device, torch.device):
        return device.type == "cuda"
    return isinstance(device, str) and device.split(":")[0] == "cuda"


UNPLACED = "a line the traced graph does not show"   # fx and torch.export run generated code, not the forward


def _note_place(places: list[str]) -> None:
    """The line of the user's code that asked, the nearest on the stack before archlint's own code."""
    frame = sys._getframe(2)
    while frame is not None and not is_user_file(frame.f_code.co_filename) and \
            not frame.f_code.co_filename.startswith(ENGINE_DIR):
        frame = frame.f_back
    user = frame is not None and is_user_file(frame.f_code.co_filename)
    place = f"{display_path(frame.f_code.co_filename)}:{frame.f_lineno}" if user else UNPLACED  # type: ignore[union-attr]
    if place not in places:
        places.append(place)

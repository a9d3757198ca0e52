"""A process group of one, for forwards that call torch.distributed.

Self-supervised and contrastive models gather or reduce across processes inside their forward
(`torch.distributed.all_reduce(c)`, a `concat_all_gather(keys)`): run in one process they raise "Default process
group has not been initialized". As the one process of a group of one, every collective is what a single process
computes, so the model is linted as it trains on one GPU. The group lives in memory (gloo over a HashStore: no
socket opened to another process, no file) and is destroyed afterwards.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch.distributed as dist


@contextlib.contextmanager
def one_process_group() -> Iterator[bool]:
    """Inside the block, a default process group of world size 1 (yields True) unless torch.distributed is not
    available or a group already exists (yields False: nothing set up, nothing torn down)."""
    if not dist.is_available() or dist.is_initialized():
        yield False
        return
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield True
    finally:
        dist.destroy_process_group()

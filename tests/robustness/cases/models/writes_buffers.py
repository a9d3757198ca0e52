"""Invariant input: forward updates buffers in place (a call counter), as caches and EMA buffers do."""
import torch
from torch import nn


class CountsCalls(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(()))
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        self.calls += 1
        return self.fc(x)


class BranchyCounter(nn.Module):
    """Control flow on a tensor value plus an in-place buffer update: only a fallback tracer gets through."""

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", torch.zeros(()))
        self.bn = nn.BatchNorm1d(4)

    def forward(self, x):
        self.calls += 1
        if x.sum() > 0:
            x = x * 2
        return self.bn(x)


class WrapsBranchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.inner = BranchyCounter()

    def forward(self, x):
        return self.inner(self.fc(x))


class BranchyThenBroken(BranchyCounter):
    """Writes a buffer, branches on a value, then fails: no tracer gets through, not even a real forward."""

    def forward(self, x):
        self.calls += 1
        if x.sum() > 0:
            x = x * 2
        raise RuntimeError("the rest of forward is not written yet")

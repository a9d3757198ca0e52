import torch
from torch import nn


class TimeUNet(nn.Module):
    """`time=None` in the signature, but a model built with a time embedding needs it."""

    def __init__(self, channels=3, width=8, time_dim=16):
        super().__init__()
        self.time_mlp = nn.Sequential(nn.Linear(1, time_dim), nn.SiLU(), nn.Linear(time_dim, width)) if time_dim else None
        self.inp = nn.Conv2d(channels, width, 3, padding=1)
        self.out = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, x, time=None, y=None):
        if self.time_mlp is not None and time is None:
            raise ValueError("time conditioning was specified but time is not passed")
        h = self.inp(x)
        if self.time_mlp is not None:
            h = h + self.time_mlp(time[:, None])[:, :, None, None]
        return self.out(h)

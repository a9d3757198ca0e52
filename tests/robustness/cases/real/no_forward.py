"""Layers defined, forward not written yet."""
from torch import nn


class Unfinished(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3)
        self.fc = nn.Linear(16, 10)

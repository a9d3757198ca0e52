"""Lazy layers: their weights take shape at the first forward."""
from torch import nn


class Lazy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.LazyConv2d(16, 3)
        self.fc = nn.LazyLinear(10)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))

"""Odd input: one module applied twice in forward (shared weights by reuse)."""
from torch import nn


class Reused(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = nn.Linear(8, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        x = self.block(x).relu()
        x = self.block(x).relu()   # the same weights again
        return self.head(x)

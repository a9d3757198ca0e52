"""Odd input: the same submodule registered under two names."""
from torch import nn


class SharedTwice(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(8, 8)
        self.also_encoder = self.encoder      # same object, two attribute names
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.also_encoder(self.encoder(x).relu()))

"""Odd input: forward returns a tuple."""
from torch import nn


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        features = self.body(x).relu()
        return self.head(features), features

"""Odd input: forward returns None (it forgot the return statement)."""
from torch import nn


class NoneOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        self.fc(x)

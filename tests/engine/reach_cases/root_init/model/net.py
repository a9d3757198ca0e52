"""Imports the repository's `utils` as a top-level package, as its scripts at the root run it."""
import torch.nn as nn

from utils.functional import widths


class Net(nn.Module):
    def __init__(self, base=4):
        super().__init__()
        first, second = widths(base)
        self.fc1 = nn.Linear(8, first)
        self.fc2 = nn.Linear(first, second)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())

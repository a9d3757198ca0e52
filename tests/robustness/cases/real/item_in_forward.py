"""A forward that turns a tensor into a Python number and slices with it."""
import torch
from torch import nn


class TopK(nn.Module):
    def __init__(self):
        super().__init__()
        self.score = nn.Linear(16, 1)
        self.out = nn.Linear(16, 4)

    def forward(self, x):
        keep = max(1, int((self.score(x) > 0).sum().item()))
        order = torch.argsort(self.score(x).squeeze(-1), descending=True)
        return self.out(x[order[:keep]])

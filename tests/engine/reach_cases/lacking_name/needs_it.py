"""Written for torch 1: its constructor uses a helper torch 2 no longer has."""
import torch
import torch.nn as nn
from torch.functional import align_tensors


class Aligned(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(align_tensors(torch.ones(4))[0])

    def forward(self, x):
        return x * self.scale


class AlignsInForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(align_tensors(x)[0])

"""Written for torch 1: a helper imported from where torch 1 kept it (gone from torch 2), used only by code the
model never runs."""
import torch.nn as nn
from torch.functional import align_tensors


def aligned(*tensors):
    return align_tensors(*tensors)


class Mixer(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(x)

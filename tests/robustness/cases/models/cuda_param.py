"""Bad input here: a parameter created directly on a CUDA device (no GPU on this machine)."""
import torch
from torch import nn


class CudaScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.scale = nn.Parameter(torch.ones(4, device="cuda"))

    def forward(self, x):
        return self.fc(x) * self.scale

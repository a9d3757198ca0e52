"""A forward that makes a tensor on CUDA (a hard-coded device)."""
import torch
from torch import nn


class NoiseOnGPU(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        return self.fc(x + torch.randn(x.shape, device="cuda"))

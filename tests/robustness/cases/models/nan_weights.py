"""Odd input: weights containing NaN and inf (a diverged checkpoint)."""
import torch
from torch import nn


class Diverged(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 2)
        with torch.no_grad():
            self.conv.weight[0, 0, 0, 0] = float("nan")
            self.fc.bias[1] = float("inf")

    def forward(self, x):
        return self.fc(self.conv(x).relu().mean((2, 3)))

"""Odd input: float16 weights."""
import torch
from torch import nn


class HalfNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 2)
        self.half()

    def forward(self, x):
        x = self.bn(self.conv(x)).relu()
        return self.fc(x.mean((2, 3)))

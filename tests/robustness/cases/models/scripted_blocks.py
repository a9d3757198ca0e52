"""A stochastic-depth ResNet whose blocks are torch.jit.script-ed: their parameter dicts are OrderedDictWrappers."""
import warnings

import torch
import torch.nn as nn

warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)


class Block(nn.Module):
    def __init__(self, c: int, survival: float = 0.9):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)
        self.bn = nn.BatchNorm2d(c)
        self.survival = survival

    def forward(self, x):
        if self.training and torch.rand(1).item() > self.survival:
            return x
        return x + torch.relu(self.bn(self.conv(x)))


class StochasticDepthResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.blocks = nn.Sequential(*[torch.jit.script(Block(16)) for _ in range(3)])
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.head(x.mean((2, 3)))

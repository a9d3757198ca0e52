import torch.nn as nn

from .parts import Stem   # models/ has no __init__.py: its files import each other as a namespace package


def small_stem():
    return Stem(3, 24)


class Net(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.stem = small_stem()
        self.head = nn.Linear(24, classes)

    def forward(self, x):
        return self.head(self.stem(x).mean((2, 3)))

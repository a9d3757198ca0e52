"""A file that imports a sibling relatively, in a folder with no __init__.py: a namespace package (PEP 420)."""
from torch import nn

from .blocks import Block


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block())

    def forward(self, x):
        return self.blocks(x)

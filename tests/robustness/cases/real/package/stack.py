"""A file of a package (the folder has __init__.py), linted on its own: it imports a sibling relatively."""
from torch import nn

from .blocks import Block


class Stack(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(Block(), Block())

    def forward(self, x):
        return self.blocks(x)

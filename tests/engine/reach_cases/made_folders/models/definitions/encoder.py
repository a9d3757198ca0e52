from torch import nn

from utils.constants import *


class Encoder(nn.Module):
    def __init__(self, dimension=MODEL_DIMENSION, layers=NUMBER_OF_LAYERS):
        super().__init__()
        self.blocks = nn.Sequential(*[nn.Linear(dimension, dimension) for _ in range(layers)])

    def forward(self, x):
        return self.blocks(x)

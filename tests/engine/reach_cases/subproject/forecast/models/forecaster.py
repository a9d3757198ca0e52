import torch.nn as nn

from layers.blocks import CausalBlock


class Forecaster(nn.Module):
    def __init__(self, variables=5, width=16, depth=2):
        super().__init__()
        self.embed = nn.Linear(variables, width)
        self.blocks = nn.Sequential(*[CausalBlock(width) for _ in range(depth)])
        self.head = nn.Linear(width, variables)

    def forward(self, x):
        return self.head(self.blocks(self.embed(x)))

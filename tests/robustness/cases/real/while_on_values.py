"""A forward with a loop whose end depends on tensor values."""
from torch import nn


class Refine(nn.Module):
    def __init__(self):
        super().__init__()
        self.step = nn.Linear(8, 8)

    def forward(self, x):
        steps = 0
        while x.norm() > 1 and steps < 4:
            x = self.step(x) * 0.5
            steps += 1
        return x

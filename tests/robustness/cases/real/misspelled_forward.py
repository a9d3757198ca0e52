"""forward spelled wrong: nn.Module never calls it."""
from torch import nn


class Typo(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)

    def foward(self, x):
        return self.fc(x)

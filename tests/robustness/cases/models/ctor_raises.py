"""Bad input: the constructor raises."""
from torch import nn


class BrokenInit(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)
        raise ValueError("hidden size must be divisible by the number of heads")

    def forward(self, x):
        return self.fc(x)

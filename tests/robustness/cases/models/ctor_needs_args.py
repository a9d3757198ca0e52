"""Bad input: the model's constructor needs an argument archlint cannot guess."""
from torch import nn


class NeedsWidth(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.fc = nn.Linear(width, 2)

    def forward(self, x):
        return self.fc(x)

"""A second good file, after the broken ones in alphabetical order."""
from torch import nn


class AlsoGood(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(x)

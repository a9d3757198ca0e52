"""A constructor that assigns layers before calling super().__init__()."""
from torch import nn


class EarlyAssign(nn.Module):
    def __init__(self):
        self.fc = nn.Linear(8, 2)
        super().__init__()

    def forward(self, x):
        return self.fc(x)

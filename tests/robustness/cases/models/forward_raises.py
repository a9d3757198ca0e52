"""Bad input: forward raises whatever the input."""
from torch import nn


class BrokenForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        raise NotImplementedError("forward is not written yet")

"""Bad input: forward never finishes (an accidental infinite loop)."""
import torch
from torch import nn


class NeverEnds(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        while True:
            x = torch.tanh(x)

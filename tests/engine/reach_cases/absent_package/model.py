import torch
from torch import nn

from board import Board


class Net(nn.Module):
    """Never touches the logger: linted although its package is missing."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean((2, 3)))


class TrackedNet(nn.Module):
    """Builds the logger in its constructor: it needs the missing package."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)
        self.board = Board("runs")

    def forward(self, x):
        return self.fc(x)


class PlottedNet(nn.Module):
    """Uses the logger in its forward: it needs the missing package to run."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 2)
        self.board = None

    def forward(self, x):
        Board.curve(self, x)
        return self.fc(x)

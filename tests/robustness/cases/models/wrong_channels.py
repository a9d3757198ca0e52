"""Bad input: the given input has 1 channel but the first conv expects 3."""
from torch import nn


class RGBNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3)
        self.head = nn.Conv2d(8, 2, 1)

    def forward(self, x):
        return self.head(self.stem(x).relu())

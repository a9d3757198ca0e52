from torch import nn

from layers import Swap


class Encoder(nn.Module):
    def __init__(self, width: int = 8) -> None:
        super().__init__()
        self.project = nn.Linear(4, width)
        self.norm = nn.Sequential(Swap(1, 2), nn.BatchNorm1d(width), Swap(1, 2))

    def forward(self, x):
        return self.norm(self.project(x))

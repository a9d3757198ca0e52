"""A self-supervised wrapper built only by a training script whose command line requires the data."""
from torch import nn


class Projector(nn.Module):
    def __init__(self, encoder, dim):
        super().__init__()
        self.encoder = encoder
        self.projection = nn.Sequential(nn.Linear(16, dim), nn.ReLU(), nn.Linear(dim, dim))

    def forward(self, x):
        return self.projection(self.encoder(x))

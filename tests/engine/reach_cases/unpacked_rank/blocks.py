"""Blocks whose first layer is linear but whose input is a map: the forward says its rank by unpacking the shape."""
from torch import nn


class ChannelGate(nn.Module):
    """Squeeze-and-excitation style: pool the map, weigh its channels."""

    def __init__(self, channels=24, reduction=4):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Linear(channels, channels // reduction), nn.ReLU(),
                                     nn.Linear(channels // reduction, channels), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        weights = self.squeeze(x.mean(dim=(2, 3))).view(b, c, 1, 1)
        return x * weights


class GridMixer(nn.Module):
    """Works on a channels-last grid (B, H, W, C), as window-attention models keep it."""

    def __init__(self, channels=12):
        super().__init__()
        self.mix = nn.Linear(channels, channels)
        self.norm = nn.LayerNorm(channels)

    def forward(self, grid):
        B, H, W, C = grid.shape
        flat = grid.reshape(B, H * W, C)
        return self.norm(flat + self.mix(flat)).view(B, H, W, C)

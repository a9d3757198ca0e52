"""A decoder that joins upsampled features with low-level ones before its first convolution on them."""
import torch
from torch import nn
from torch.nn import functional as F


class FuseDecoder(nn.Module):
    def __init__(self, low_channels=24, num_classes=3):
        super().__init__()
        self.reduce = nn.Conv2d(low_channels, 8, 1)
        self.fuse = nn.Conv2d(32 + 8, num_classes, 3, padding=1)

    def forward(self, x, low_level):
        low_level = self.reduce(low_level)
        x = F.interpolate(x, size=low_level.shape[2:], mode="bilinear")
        return self.fuse(torch.cat([x, low_level], dim=1))

"""Generators conditioned by concatenating a condition to the image before the first convolution."""
import torch
from torch import nn


class LabelToImage(nn.Module):
    """The label is a vector per sample, spread over the image."""

    def __init__(self, labels=4, width=16):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3 + labels, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 3, 3, padding=1))

    def forward(self, image, label):
        spread = label[:, :, None, None].expand(-1, -1, image.shape[2], image.shape[3])
        return self.body(torch.cat([image, spread], dim=1))


class MapToImage(nn.Module):
    """The condition is already a map (a segmentation of the same size)."""

    def __init__(self, classes=6, width=16):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1 + classes, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 1, 3, padding=1))

    def forward(self, gray, segmentation):
        return self.body(torch.cat((gray, segmentation), 1))

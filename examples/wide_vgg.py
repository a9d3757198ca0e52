"""A wide VGG-style CNN: five stages of 3×3 convolutions (128 → 2048 channels) without shortcuts, then a
flatten + fully connected head. 263 million parameters (1.05 GB of fp32 weights), most of them in the 3×3
convolutions of the last two stages; its depth (13 convolutions in a chain) and the flatten head are what
the structural rules are about.
"""
from __future__ import annotations

import torch
from torch import nn


def conv_stage(in_channels: int, out_channels: int, convs: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for index in range(convs):
        layers += [nn.Conv2d(in_channels if index == 0 else out_channels, out_channels, 3, padding=1),
                   nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
    layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers)


class WideVGG(nn.Module):
    def __init__(self, num_classes: int = 1000, widths: tuple[int, ...] = (128, 256, 512, 1024, 2048)):
        super().__init__()
        stages, channels = [], 3
        for width, convs in zip(widths, (2, 2, 3, 3, 3)):
            stages.append(conv_stage(channels, width, convs))
            channels = width
        self.features = nn.Sequential(*stages)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(channels * 4 * 4, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def wide_vgg() -> WideVGG:
    return WideVGG()


def example_inputs() -> tuple[torch.Tensor]:
    """One 128×128 RGB image: the flatten head is sized for it (128 / 2^5 = 4)."""
    return (torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(0)),)

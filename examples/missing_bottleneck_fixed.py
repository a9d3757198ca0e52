"""missing-bottleneck, fixed: the 256-channel 3×3 convs run inside residual bottleneck blocks.

1×1 (256→64) → 3×3 (64→64) → 1×1 (64→256), with the block's input added back: the 3×3 works on 64
channels, and each block holds about an eighth of the parameters of a full-width 3×3 conv.
"""
from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class Bottleneck(nn.Module):
    def __init__(self, channels: int, width: int):
        super().__init__()
        self.reduce = conv_bn_relu(channels, width, 1)
        self.spatial = conv_bn_relu(width, width, 3)
        self.expand = nn.Sequential(nn.Conv2d(width, channels, 1, bias=False), nn.BatchNorm2d(channels))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.expand(self.spatial(self.reduce(x))))


class BottleneckNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem = conv_bn_relu(3, 64, 3)
        self.widen = conv_bn_relu(64, 256, 1)
        self.body = nn.Sequential(Bottleneck(256, 64), Bottleneck(256, 64))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.widen(self.stem(x))))


def build() -> nn.Module:
    return BottleneckNet()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    found = archlint.check(build().eval(), example_inputs(), select=["AL601"], probe=False).by_rule("AL601")
    print("\n".join(f.message for f in found) or "AL601: clean")

"""missing-residual, fixed: the same widths and depth, as residual blocks of two convolutions.

Each block computes relu(F(x) + x), so no chain between two merges is longer than 2 layers.
`python examples/missing_residual_fixed.py` lints it (no AL401 finding).
"""
from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + x)


class ResidualNet(nn.Module):
    def __init__(self, width: int = 32, blocks: int = 6, classes: int = 10):
        super().__init__()
        self.stem = conv_bn_relu(3, width)
        self.body = nn.Sequential(*[ResidualBlock(width) for _ in range(blocks)])
        self.down = conv_bn_relu(width, 2 * width, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.down(self.body(self.stem(x)))), 1))


def build() -> nn.Module:
    torch.manual_seed(0)
    return ResidualNet()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    findings = archlint.check(build(), example_inputs(), select=["AL401"]).models[0].findings
    print(f"{len(findings)} AL401 finding(s)")

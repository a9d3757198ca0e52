"""missing-residual, fixed: the same VGG-style network, its shape-preserving convs paired into residual blocks.

Each stage is one conv that changes the width, two blocks relu(conv(relu(conv(x))) + x) and a
max-pool, so no chain between two merges is longer than 2 convolutions. Still no BatchNorm and
default init: the shortcuts alone carry the gradient back to `features.0`.
`python examples/missing_residual_fixed.py` lints it (no AL401 finding).
"""
from __future__ import annotations

import torch
from torch import nn


def conv_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True))


class ResidualBlock(nn.Module):
    """y = relu(F(x) + x), F = two 3×3 convolutions with a ReLU between them."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + x)


def residual_stage(c_in: int, c_out: int, blocks: int = 2) -> list[nn.Module]:
    """One conv that changes the width, `blocks` residual blocks that keep it, then halve the resolution."""
    return [conv_relu(c_in, c_out), *[ResidualBlock(c_out) for _ in range(blocks)], nn.MaxPool2d(2)]


class ResidualVGG(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (32, 64, 128), classes: int = 10):
        super().__init__()
        channels = (3, *widths)
        self.features = nn.Sequential(*[layer for c_in, c_out in zip(channels, widths)
                                        for layer in residual_stage(c_in, c_out)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def build() -> nn.Module:
    torch.manual_seed(0)
    return ResidualVGG()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    findings = archlint.check(build(), example_inputs(), select=["AL401"]).models[0].findings
    print(f"{len(findings)} AL401 finding(s)")

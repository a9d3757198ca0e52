"""missing-bottleneck, bad: a plain stack of 3×3 convolutions at 256 channels.

Each 256→256 3×3 conv holds 590,080 parameters; as a 1×1 (256→64) → 3×3 (64→64) → 1×1 (64→256)
bottleneck it would hold 70,016. Reported at info severity: a plain wide stack is a trade-off, not a
bug. `python examples/missing_bottleneck_bad.py` lints it.
"""
from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class WidePlainNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem = conv_bn_relu(3, 64, 3)
        self.widen = conv_bn_relu(64, 256, 1)
        self.body = nn.Sequential(conv_bn_relu(256, 256, 3), conv_bn_relu(256, 256, 3))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.widen(self.stem(x))))


def build() -> nn.Module:
    return WidePlainNet()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    for finding in archlint.check(build().eval(), example_inputs(), select=["AL601"], probe=False).findings:
        print(f"{finding.code} {finding.module}: {finding.message}\n{finding.fix.snippet if finding.fix else ''}")

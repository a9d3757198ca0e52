"""large-kernel, bad: 5×5 and 7×7 convolutions in the body of a small CNN.

The 7×7 stem on 3 RGB channels is fine (a 3×3 stack at 32 channels would cost more) and is not
reported; the 5×5 (32→64) and the 7×7 (64→128) are: stacks of 3×3 convs see the same windows for
about half and a third of the parameters. `python examples/large_kernel_bad.py` lints it.
"""
from __future__ import annotations

import torch
from torch import nn


class BigKernelNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 7, stride=2, padding=3), nn.ReLU(inplace=True))   # 64 → 32
        self.body = nn.Sequential(
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),                  # 32 → 16
            nn.Conv2d(64, 128, 7, padding=3), nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))


def build() -> nn.Module:
    return BigKernelNet()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    for finding in archlint.check(build().eval(), example_inputs(), select=["AL501"], probe=False).findings:
        print(f"{finding.code} {finding.module}: {finding.message}\n{finding.fix.snippet if finding.fix else ''}")

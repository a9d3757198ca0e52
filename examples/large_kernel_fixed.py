"""large-kernel, fixed: the same network with the 5×5 and 7×7 body convs as stacks of 3×3 convs.

Same receptive fields (5×5 and 7×7) and output sizes, fewer parameters and MACs, and three more
ReLUs. The 7×7 stem on the RGB input stays: there a 3×3 stack would be the more expensive choice.
"""
from __future__ import annotations

import torch
from torch import nn


def conv3x3(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class SmallKernelNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 7, stride=2, padding=3), nn.ReLU(inplace=True))
        self.body = nn.Sequential(
            conv3x3(32, 32), nn.ReLU(inplace=True), conv3x3(32, 64), nn.ReLU(inplace=True),        # 5×5 field
            nn.MaxPool2d(2),
            conv3x3(64, 64), nn.ReLU(inplace=True), conv3x3(64, 64), nn.ReLU(inplace=True),
            conv3x3(64, 128), nn.ReLU(inplace=True),                                                # 7×7 field
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(self.stem(x)))


def build() -> nn.Module:
    return SmallKernelNet()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    found = archlint.check(build().eval(), example_inputs(), select=["AL501"], probe=False).by_rule("AL501")
    print("\n".join(f.message for f in found) or "AL501: clean")

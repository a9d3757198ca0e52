"""flatten-fc-head, fixed: the same CNN with global average pooling and one Linear(64, 10).

The head now holds 650 parameters instead of 1,051,402 and the network accepts any input size.
"""
from __future__ import annotations

import torch
from torch import nn


class PooledHeadNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),  # archlint: ignore[receptive-field] (a toy body: this example is about the head)
        )
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def build() -> nn.Module:
    return PooledHeadNet()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    found = archlint.check(build().eval(), example_inputs(), select=["AL301"], probe=False).by_rule("AL301")
    print("\n".join(f.message for f in found) or "AL301: clean")

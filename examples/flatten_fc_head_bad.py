"""flatten-fc-head, bad: a small CNN that flattens its 64×8×8 map into a 4,096-wide fully connected head.

The two convolutions hold 19,392 parameters; the head (4,096→256→10) holds 1,051,402, 98% of the model,
and ties the network to 32×32 inputs. `python examples/flatten_fc_head_bad.py` lints it.
"""
from __future__ import annotations

import torch
from torch import nn


class FlatHeadNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),    # 32×32 → 16×16
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),   # 16×16 → 8×8
        )
        self.classifier = nn.Sequential(
            nn.Linear(64 * 8 * 8, 256), nn.ReLU(inplace=True), nn.Dropout(0.5), nn.Linear(256, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = x.view(x.size(0), -1)   # 64×8×8 → 4,096 features
        return self.classifier(x)


def build() -> nn.Module:
    return FlatHeadNet()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    for finding in archlint.check(build().eval(), example_inputs(), select=["AL301"], probe=False).findings:
        print(f"{finding.code} {finding.module}: {finding.message}\n{finding.fix.snippet if finding.fix else ''}")

"""dropout-placement, fixed: channel dropout after the BatchNorm block, feature dropout before the classifier.

`nn.Dropout2d` drops whole channels after the last BatchNorm, and the classifier's dropout is a
module (so it follows model.eval()) placed before the last layer. `python examples/dropout_placement_fixed.py`.
"""
from __future__ import annotations

import torch
from torch import nn


class DropoutPlacedWell(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)  # archlint: ignore[receptive-field] (a toy: this example is about dropout)
        self.bn2 = nn.BatchNorm2d(32)
        self.drop_map = nn.Dropout2d(0.1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(32, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.conv1(x))
        x = self.drop_map(torch.relu(self.bn2(self.conv2(x))))
        return self.fc(self.drop(torch.flatten(self.pool(x), 1)))


def build() -> nn.Module:
    torch.manual_seed(0)
    return DropoutPlacedWell()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    findings = archlint.check(build(), example_inputs(), select=["dropout-placement"]).models[0].findings
    print(f"{len(findings)} dropout-placement finding(s)")

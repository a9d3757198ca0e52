"""dropout-placement, bad: dropout in four wrong places (AL701-AL704).

* `nn.Dropout` on a conv feature map drops single pixels (AL704),
* it feeds a conv followed by BatchNorm: BN learns statistics of dropped-out inputs (AL702),
* `F.dropout(x, 0.5)` in forward has training=True by default: still active in eval (AL701),
* a dropout after the classifier zeroes logits (AL703).
`python examples/dropout_placement_bad.py` lints it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DropoutEverywhere(nn.Module):
    def __init__(self, classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.drop_map = nn.Dropout(0.3)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, classes)
        self.drop_logits = nn.Dropout(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop_map(torch.relu(self.conv1(x)))
        x = torch.relu(self.bn2(self.conv2(x)))
        x = F.dropout(torch.flatten(self.pool(x), 1), 0.5)
        return self.drop_logits(self.fc(x))


def build() -> nn.Module:
    torch.manual_seed(0)
    return DropoutEverywhere()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    for finding in archlint.check(build(), example_inputs(), select=["dropout-placement"]).models[0].findings:
        print(f"{finding.code} {finding.module}: {finding.message}")
        for metric in finding.effect:
            print(f"  {metric.name}: {metric.before} -> {metric.after}")

"""missing-residual, bad: a plain CNN of 14 convolutions and a classifier with no shortcut.

Every layer feeds the next one and nothing else: the gradient reaching `stem` is the product of
all 14 later layers' Jacobians. `python examples/missing_residual_bad.py` lints it.
"""
from __future__ import annotations

import torch
from torch import nn


def conv_bn_relu(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class PlainNet(nn.Module):
    def __init__(self, width: int = 32, depth: int = 12, classes: int = 10):
        super().__init__()
        self.stem = conv_bn_relu(3, width)
        self.body = nn.Sequential(*[conv_bn_relu(width, width) for _ in range(depth)])
        self.down = conv_bn_relu(width, 2 * width, stride=2)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(2 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.down(self.body(self.stem(x)))), 1))


def build() -> nn.Module:
    torch.manual_seed(0)
    return PlainNet()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    for finding in archlint.check(build(), example_inputs(), select=["AL401"]).models[0].findings:
        print(f"{finding.code} {finding.module}: {finding.message}")
        for metric in finding.effect:
            print(f"  {metric.name}: {metric.before} -> {metric.after}")
        print(finding.fix.snippet if finding.fix else "")

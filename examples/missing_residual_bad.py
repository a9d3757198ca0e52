"""missing-residual, bad: a VGG-style plain CNN of 15 conv+ReLU layers and a classifier, no shortcut.

Three stages (32, 64, 128 channels) of five 3×3 convolutions, each stage ending in a max-pool;
no BatchNorm, default PyTorch init. Every layer feeds the next one and nothing else, so the
gradient reaching `features.0` is the product of all 15 later layers' Jacobians: at
initialisation it has all but vanished. `python examples/missing_residual_bad.py` lints it.
"""
from __future__ import annotations

import torch
from torch import nn


def conv_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(inplace=True))


def plain_stage(c_in: int, c_out: int, convs: int = 5) -> list[nn.Module]:
    """One conv that changes the width, `convs - 1` that keep it, then halve the resolution."""
    return [conv_relu(c_in, c_out), *[conv_relu(c_out, c_out) for _ in range(convs - 1)], nn.MaxPool2d(2)]


class PlainVGG(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (32, 64, 128), classes: int = 10):
        super().__init__()
        channels = (3, *widths)
        self.features = nn.Sequential(*[layer for c_in, c_out in zip(channels, widths)
                                        for layer in plain_stage(c_in, c_out)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.features(x)), 1))


def build() -> nn.Module:
    torch.manual_seed(0)
    return PlainVGG()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    for finding in archlint.check(build(), example_inputs(), select=["AL401"]).models[0].findings:
        print(f"{finding.code} {finding.module}: {finding.message}")
        for metric in finding.effect:
            print(f"  {metric.name}: {metric.before:.3g} -> {metric.after:.3g}")
        print(finding.fix.snippet if finding.fix else "")

"""receptive-field, fixed: the same network with a strided stem and a third stage sees 133×133 px of 128×128.

The stem conv has stride 2 and a third stage (pool + two 3×3 convs) follows, so the field grows by
4, 8, 16 and 32 px per layer: the last conv relates the whole image. `python examples/receptive_field_fixed.py`.
"""
from __future__ import annotations

import torch
from torch import nn


def conv_block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class DeepEnoughNet(nn.Module):
    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            conv_block(3, 32, stride=2), conv_block(32, 32), nn.MaxPool2d(2),
            conv_block(32, 64), conv_block(64, 64), nn.MaxPool2d(2),
            conv_block(64, 128), conv_block(128, 128), nn.MaxPool2d(2),
            conv_block(128, 128), conv_block(128, 128),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(128, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def build() -> nn.Module:
    return DeepEnoughNet()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(2, 3, 128, 128, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint
    from archlint.analysis.receptive_field import format_rf_table, rf_table

    model = build().eval()
    print(format_rf_table(rf_table(model, *example_inputs())))
    for finding in archlint.check(model, example_inputs(), select=["AL201"]).models[0].findings:
        print(f"{finding.code} {finding.module}: {finding.message}\n  fix: {finding.fix.summary if finding.fix else ''}")

"""gradient-flow, fixed: the same widths as residual ReLU blocks with LayerNorm and Kaiming init.

No unused module, shortcuts around each block, normalised inputs to every activation and zero
biases. `python examples/gradient_flow_fixed.py` lints it (no gradient-flow finding).
"""
from __future__ import annotations

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.linear = nn.Linear(width, width)
        self.relu = nn.ReLU()
        nn.init.kaiming_normal_(self.linear.weight, nonlinearity="relu")
        nn.init.zeros_(self.linear.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.relu(self.linear(self.norm(x)))


class GoodFlowMLP(nn.Module):
    def __init__(self, features: int = 32, width: int = 64, classes: int = 10, depth: int = 10):
        super().__init__()
        self.inp = nn.Linear(features, width)
        self.body = nn.Sequential(*[Block(width) for _ in range(depth)])
        self.out = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.body(self.inp(x)))


def build() -> nn.Module:
    torch.manual_seed(0)
    return GoodFlowMLP()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(32, 32, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    findings = archlint.check(build(), example_inputs(), select=["gradient-flow"]).models[0].findings
    print(f"{len(findings)} gradient-flow finding(s)")

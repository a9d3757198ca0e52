"""constant-init, bad: an MLP whose hidden weights all start at the same value.

Both hidden layers are filled with one constant (`nn.init.constant_`), so the 64 units of `hidden`
compute the same value and receive the same gradient: they stay identical while training.
`python examples/constant_init_bad.py` lints it.
"""
from __future__ import annotations

import torch
from torch import nn


class ConstantMLP(nn.Module):
    def __init__(self, features: int = 20, hidden: int = 64, classes: int = 5):
        super().__init__()
        self.hidden = nn.Linear(features, hidden)
        self.mix = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, classes)
        nn.init.constant_(self.hidden.weight, 0.05)  # every unit starts as a copy of every other
        nn.init.constant_(self.mix.weight, 0.05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.mix(torch.relu(self.hidden(x)))))


def build() -> nn.Module:
    torch.manual_seed(0)
    return ConstantMLP()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(16, 20, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    for finding in archlint.check(build(), example_inputs(), select=["AL101"]).models[0].findings:
        print(f"{finding.code} {finding.module}: {finding.message}")
        for metric in finding.effect:
            print(f"  {metric.name}: {metric.before} -> {metric.after}")

"""constant-init, fixed: the same MLP with Kaiming-initialised hidden layers (ReLU follows them).

Each unit starts with its own random weights, scaled for ReLU, so every unit gets its own
gradient. `python examples/constant_init_fixed.py` lints it (no AL101 finding).
"""
from __future__ import annotations

import torch
from torch import nn


class RandomMLP(nn.Module):
    def __init__(self, features: int = 20, hidden: int = 64, classes: int = 5):
        super().__init__()
        self.hidden = nn.Linear(features, hidden)
        self.mix = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, classes)
        nn.init.kaiming_normal_(self.hidden.weight, nonlinearity="relu")
        nn.init.kaiming_normal_(self.mix.weight, nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.mix(torch.relu(self.hidden(x)))))


def build() -> nn.Module:
    torch.manual_seed(0)
    return RandomMLP()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(16, 20, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    findings = archlint.check(build(), example_inputs(), select=["AL101"]).models[0].findings
    print(f"{len(findings)} AL101 finding(s)")

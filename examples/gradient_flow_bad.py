"""gradient-flow, bad: an MLP with all four gradient problems (AL801-AL804).

* `unused` is never called: its parameters get no gradient (AL801),
* ten sigmoid layers in a row: the first layer's gradient vanishes (AL802),
* `squash` has weights 20× too large before a tanh: it saturates (AL804),
* `gate` has a bias of -0.8 before a ReLU: most of its units are never positive (AL803).
`python examples/gradient_flow_bad.py` lints it.
"""
from __future__ import annotations

import torch
from torch import nn


class BadFlowMLP(nn.Module):
    def __init__(self, features: int = 32, width: int = 64, classes: int = 10, depth: int = 10):
        super().__init__()
        layers: list[nn.Module] = [nn.Linear(features, width), nn.Sigmoid()]
        for _ in range(depth - 1):
            layers += [nn.Linear(width, width), nn.Sigmoid()]
        self.body = nn.Sequential(*layers)
        self.squash = nn.Linear(width, width)
        self.act = nn.Tanh()
        self.gate = nn.Linear(width, width)
        self.relu = nn.ReLU()
        self.out = nn.Linear(width, classes)
        self.unused = nn.Linear(width, width)
        with torch.no_grad():
            self.squash.weight.mul_(20.0)
            self.gate.bias.fill_(-0.8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.relu(self.gate(self.act(self.squash(self.body(x))))))


def build() -> nn.Module:
    torch.manual_seed(0)
    return BadFlowMLP()


def example_inputs() -> tuple[torch.Tensor]:
    return (torch.randn(32, 32, generator=torch.Generator().manual_seed(0)),)


if __name__ == "__main__":
    import archlint

    for finding in archlint.check(build(), example_inputs(), select=["gradient-flow"]).models[0].findings:
        print(f"{finding.code} {finding.module}: {finding.message}")

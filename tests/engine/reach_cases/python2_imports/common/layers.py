import torch
import torch.nn as nn


class ScaledLinear(nn.Module):
    """A linear layer with a learned output scale."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.scale = nn.Parameter(torch.ones(out_features))

    def forward(self, x):
        return self.linear(x) * self.scale

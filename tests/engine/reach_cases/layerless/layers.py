import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class NoisyDense(nn.Module):
    """A linear layer kept as its own weights (a mean and a noise scale), as exploration layers are written."""

    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight_mu = nn.Parameter(torch.empty(out_features, in_features).uniform_(-0.1, 0.1))
        self.weight_sigma = nn.Parameter(torch.full((out_features, in_features), 0.5 / math.sqrt(in_features)))
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x):
        return F.linear(x, self.weight_mu + self.weight_sigma * torch.randn_like(self.weight_sigma), self.bias)


class ScaleNorm(nn.Module):
    def __init__(self, features, eps=1e-6):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(features))
        self.eps = eps

    def forward(self, x):
        return self.gain * x / (x.norm(dim=-1, keepdim=True) + self.eps)


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class ScaledAttention(nn.Module):
    """Attention over projections its caller made: no parameters, three tensors of one shape."""

    def forward(self, query, key, value, mask=None):
        scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(mask == 0, -1e9)
        return scores.softmax(-1) @ value


noisy = NoisyDense(12, 5)
norm = ScaleNorm(features=8)

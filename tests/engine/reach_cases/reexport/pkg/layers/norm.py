import torch
import torch.nn as nn


class ChannelNorm(nn.Module):
    def __init__(self, features, eps=1e-6):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(features))
        self.eps = eps

    def forward(self, x):
        return self.gain * x / (x.std(-1, keepdim=True) + self.eps)

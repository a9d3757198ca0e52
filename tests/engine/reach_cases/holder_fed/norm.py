import torch
import torch.nn as nn


class ScaleNorm(nn.Module):
    def __init__(self, size, eps=1e-5):
        super().__init__()
        self.gain = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size))
        self.eps = eps

    def forward(self, x):
        centred = x - x.mean(-1, keepdim=True)
        return self.gain * centred / (centred.pow(2).mean(-1, keepdim=True) + self.eps).sqrt() + self.bias

"""A prior over a VQ-VAE's code maps: its input is a map of code ids, which it one-hot encodes."""
import torch.nn.functional as F
from torch import nn


class CodePrior(nn.Module):
    def __init__(self, n_codes=16, channels=8):
        super().__init__()
        self.n_codes = n_codes
        self.conv = nn.Conv2d(n_codes, channels, 3, padding=1)
        self.out = nn.Conv2d(channels, n_codes, 1)

    def forward(self, codes):
        x = F.one_hot(codes, self.n_codes).permute(0, 3, 1, 2).float()
        return self.out(F.relu(self.conv(x)))

import math

import torch
import torch.nn as nn


def timestep_embedding(t, dim):
    freqs = torch.exp(-math.log(10000) * torch.arange(dim // 2, device=t.device) / (dim // 2))
    angles = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class TinyDiT(nn.Module):
    def __init__(self, in_channels=4, hidden=16, num_classes=10):
        super().__init__()
        self.patch = nn.Conv2d(in_channels, hidden, 2, stride=2)
        self.t_mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.y_embed = nn.Embedding(num_classes + 1, hidden)
        self.out = nn.ConvTranspose2d(hidden, in_channels, 2, stride=2)
        self.hidden = hidden

    def forward(self, x, t, y):
        c = self.t_mlp(timestep_embedding(t, self.hidden)) + self.y_embed(y)
        return self.out(self.patch(x) + c[:, :, None, None])

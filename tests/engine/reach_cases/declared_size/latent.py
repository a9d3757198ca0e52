"""A class-conditional latent model (DiT-like) whose positional table fits only the size its constructor declares:
`input_size=32` by default, so a 224 px latent has 12,544 patches where the table has 256."""
import math

import torch
import torch.nn as nn


def timestep_embedding(t, dim):
    freqs = torch.exp(-math.log(10000) * torch.arange(dim // 2, device=t.device) / (dim // 2))
    angles = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


class LatentTransformer(nn.Module):
    def __init__(self, input_size=32, patch_size=2, in_channels=4, hidden=32, num_classes=10):
        super().__init__()
        self.patch = nn.Conv2d(in_channels, hidden, patch_size, stride=patch_size)
        tokens = (input_size // patch_size) ** 2
        self.pos = nn.Parameter(torch.zeros(1, tokens, hidden))
        self.t_mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.y_embed = nn.Embedding(num_classes + 1, hidden)
        self.block = nn.TransformerEncoderLayer(hidden, 4, 64, batch_first=True)
        self.out = nn.Linear(hidden, patch_size * patch_size * in_channels)
        self.hidden = hidden

    def forward(self, x, t, y):
        tokens = self.patch(x).flatten(2).transpose(1, 2) + self.pos
        c = self.t_mlp(timestep_embedding(t, self.hidden)) + self.y_embed(y)
        return self.out(self.block(tokens + c[:, None, :]))

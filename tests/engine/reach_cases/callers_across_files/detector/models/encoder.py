"""A part whose forward takes a feature map and its position embedding, built by its own builder from `args`."""
import torch
from torch import nn


class Encoder(nn.Module):
    def __init__(self, width, layers=2):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Conv2d(width, width, 3, padding=1) for _ in range(layers))
        self.queries_proj = nn.Linear(width, width)

    def forward(self, features, mask, position, queries):
        batch, channels, height, width = features.shape
        x = (features + position).masked_fill(mask[:, None], 0.0)   # padded pixels of a batch of unequal images
        for block in self.blocks:
            x = torch.relu(block(x))
        pooled = x.flatten(2).mean(-1)                      # [batch, channels]
        return pooled[:, None, :] + self.queries_proj(queries)[None]


def build_encoder(args):
    return Encoder(args.hidden)

import torch.nn as nn

from attention import MaskedAttention
from norm import ScaleNorm


class Block(nn.Module):
    def __init__(self, dim, heads, norm_layer=ScaleNorm):
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attention = MaskedAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x, mask):
        x = x + self.attention(self.norm1(x), mask)
        return x + self.mlp(self.norm2(x))

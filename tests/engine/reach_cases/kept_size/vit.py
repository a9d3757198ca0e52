import torch
from torch import nn


class Settings:
    """A plain settings object (not a dict, not a namespace): archlint cannot read a size from it."""
    IMG_SIZE = 80
    PATCH = 16


class PatchEmbed(nn.Module):
    def __init__(self, img_size, patch, dim):
        super().__init__()
        self.img_size = (img_size, img_size)
        self.proj = nn.Conv2d(3, dim, patch, stride=patch)

    def forward(self, x):
        assert tuple(x.shape[2:]) == self.img_size, f"input {tuple(x.shape[2:])} does not match {self.img_size}"
        return self.proj(x).flatten(2).transpose(1, 2)


class TinyViT(nn.Module):
    def __init__(self, settings=Settings()):
        super().__init__()
        self.patch_embed = PatchEmbed(settings.IMG_SIZE, settings.PATCH, 32)
        self.position = nn.Parameter(torch.zeros(1, (settings.IMG_SIZE // settings.PATCH) ** 2, 32))
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head((self.patch_embed(x) + self.position).mean(1))

import torch
import torch.nn as nn


class ViT(nn.Module):
    """Patches cut by reshapes, so the first layer is a Linear: the image size comes from image_size."""

    def __init__(self, *, image_size, patch_size, dim):
        super().__init__()
        self.patch_size = patch_size
        self.embed = nn.Linear(3 * patch_size * patch_size, dim)
        self.pos = nn.Parameter(torch.randn((image_size // patch_size) ** 2, dim))
        self.mix = nn.Linear(dim, dim)

    def forward(self, img):
        b, c, h, w = img.shape
        p = self.patch_size
        patches = img.reshape(b, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1).reshape(b, -1, p * p * c)
        return self.mix(self.embed(patches) + self.pos)

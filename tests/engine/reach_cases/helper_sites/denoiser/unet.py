"""A denoiser whose timestep MLP is registered before the convolutions the image goes through, and a variant
that subclasses it (a subclass does not contain its base: both are models)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(timesteps, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    args = timesteps[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class Stage(nn.Sequential):
    """Layers that take the timestep embedding when they want it."""

    def forward(self, x, emb):
        for layer in self:
            x = layer(x, emb) if isinstance(layer, Block) else layer(x)
        return x


class Block(nn.Module):
    def __init__(self, channels, emb_dim):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.emb = nn.Linear(emb_dim, channels)

    def forward(self, x, emb):
        return x + F.relu(self.conv(x) + self.emb(emb)[:, :, None, None])


class UNet(nn.Module):
    def __init__(self, in_channels, model_channels, image_size):
        super().__init__()
        self.image_size = image_size
        self.model_channels = model_channels
        self.time_embed = nn.Sequential(nn.Linear(model_channels, 4 * model_channels), nn.SiLU())
        self.stages = nn.ModuleList([
            Stage(nn.Conv2d(in_channels, model_channels, 3, padding=1)),
            Stage(Block(model_channels, 4 * model_channels), nn.AvgPool2d(2)),
        ])
        self.out = nn.Conv2d(model_channels, in_channels, 3, padding=1)

    def forward(self, x, timesteps):
        assert x.shape[-1] == self.image_size, "the image must have the model's size"
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels))
        h = x.type(torch.float32)
        for stage in self.stages:
            h = stage(h, emb)
        return self.out(F.interpolate(h, scale_factor=2.0))


class SuperResUNet(UNet):
    def __init__(self, in_channels, *args, **kwargs):
        super().__init__(in_channels * 2, *args, **kwargs)

    def forward(self, x, timesteps, low_res=None):
        upsampled = F.interpolate(low_res, x.shape[-2:], mode="bilinear")
        return super().forward(torch.cat([x, upsampled], dim=1), timesteps)

import torch
import torch.nn as nn


class GaussianDiffusion(nn.Module):
    def __init__(self, model, *, image_size, timesteps=10):
        super().__init__()
        self.model = model
        self.image_size = image_size
        self.timesteps = timesteps

    def forward(self, img):
        assert img.shape[-1] == self.image_size, f"height and width of image must be {self.image_size}"
        t = torch.rand(img.shape[0], device=img.device)
        noise = torch.randn_like(img)
        return ((self.model(img + noise, t) - noise) ** 2).mean()

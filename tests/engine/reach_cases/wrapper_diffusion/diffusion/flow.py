"""A variant of the same interface that no code of the repository builds: it takes what GaussianDiffusion takes
(a network, then image_size by keyword), not its timesteps."""
import torch
import torch.nn as nn


class FlowMatching(nn.Module):
    def __init__(self, net, *, image_size, sigma_min=1e-4):
        super().__init__()
        self.net = net
        self.image_size = image_size
        self.sigma_min = sigma_min

    def forward(self, img):
        t = torch.rand(img.shape[0], device=img.device)
        noise = torch.randn_like(img)
        mixed = t[:, None, None, None] * img + (1 - t[:, None, None, None]) * noise
        return ((self.net(mixed, t) - (img - noise)) ** 2).mean()

"""A GAN training script: flags, two models, then data loading and training at module level."""
import argparse

import numpy as np
import torch
import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--latent_dim", type=int, default=16)
parser.add_argument("--img_size", type=int, default=32)
parser.add_argument("--channels", type=int, default=1)
opt = parser.parse_args()
img_shape = (opt.channels, opt.img_size, opt.img_size)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(opt.latent_dim, 64), nn.ReLU(), nn.Linear(64, int(np.prod(img_shape))))

    def forward(self, z):
        return self.model(z).view(z.size(0), *img_shape)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(opt.channels, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8 * (opt.img_size // 2) ** 2, 1)

    def forward(self, img):
        return self.fc(torch.relu(self.conv(img)).flatten(1))


generator = Generator()
discriminator = Discriminator()
data = np.load("data/mnist.npz")        # the dataset is not here: module-level work fails
for epoch in range(200):
    pass

"""A conditional GAN script: label embeddings joined to the noise, and to the flattened image, before the first
linear layer; the script's image size flag is for the data, not the generator's input."""
import argparse

import numpy as np
import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--latent_dim", type=int, default=20)
parser.add_argument("--n_classes", type=int, default=5)
parser.add_argument("--img_size", type=int, default=8)
opt = parser.parse_args()
img_shape = (1, opt.img_size, opt.img_size)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.label_emb = nn.Embedding(opt.n_classes, opt.n_classes)
        self.model = nn.Sequential(nn.Linear(opt.latent_dim + opt.n_classes, 32), nn.LeakyReLU(0.2),
                                   nn.Linear(32, int(np.prod(img_shape))), nn.Tanh())

    def forward(self, noise, labels):
        gen_input = torch.cat((self.label_emb(labels), noise), -1)
        return self.model(gen_input).view(noise.size(0), *img_shape)

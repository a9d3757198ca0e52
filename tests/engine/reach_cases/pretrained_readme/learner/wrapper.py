"""A self-supervised learner wrapped around a backbone that the README builds with pretrained weights."""
import torch.nn as nn


class Learner(nn.Module):
    def __init__(self, net, image_size, projection_size=32):
        super().__init__()
        self.net = net
        self.image_size = image_size
        self.projector = nn.Sequential(nn.LazyLinear(projection_size))

    def forward(self, x):
        return self.projector(self.net(x))

import torch.nn as nn


class Scaled(nn.Module):
    """A wrapper built only in the tests, around a network they build first."""

    def __init__(self, net, scale):
        super().__init__()
        self.net = net
        self.scale = scale

    def forward(self, x):
        return self.net(x) * self.scale

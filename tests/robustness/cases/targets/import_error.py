"""Bad input: the model is built from a package that is not installed."""
import torch
from torch import nn

import definitely_not_installed_pkg


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = definitely_not_installed_pkg.layers.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv(x)

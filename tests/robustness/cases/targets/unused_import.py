"""A file that imports a package that is not installed, for a logger its model never uses."""
import torch
from torch import nn

import definitely_not_installed_pkg


def log(value):
    definitely_not_installed_pkg.log(value)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return self.conv(x)

"""Factories a module binds at run time: stubs for editors, then rebound to partials of a private builder in a loop
(`setattr(thismodule, name, partial(...))`), as model collections publish many variants."""
import sys
from functools import partial

import torch.nn as nn


class Net(nn.Module):
    def __init__(self, features, num_classes=10):
        super().__init__()
        self.features = features
        self.head = nn.Linear(16, num_classes)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def make_layers(depth, batch_norm=False):
    layers, channels = [], 3
    for _ in range(depth):
        layers += [nn.Conv2d(channels, 16, 3, padding=1), *([nn.BatchNorm2d(16)] if batch_norm else []), nn.ReLU()]
        channels = 16
    return nn.Sequential(*layers)


def _net(arch, depth, batch_norm, **kwargs):
    return Net(make_layers(depth, batch_norm), **kwargs)


def cifar10_net2(*args, **kwargs) -> Net: pass
def cifar10_net4(*args, **kwargs) -> Net: pass


thismodule = sys.modules[__name__]
for depth in (2, 4):
    name = f"cifar10_net{depth}"
    setattr(thismodule, name, partial(_net, arch=name, depth=depth, batch_norm=True, num_classes=10))

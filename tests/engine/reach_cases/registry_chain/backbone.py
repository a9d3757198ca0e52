import torch.nn as nn


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.conv = nn.Conv2d(3, cfg.width, 3, padding=1)

    def forward(self, x):
        return self.conv(x).relu()


def build_backbone(cfg):
    return Backbone(cfg)

"""A segmentation model made of parts: a backbone wrapped to return named features, and a head reading them."""
from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F


class FeatureGetter(nn.ModuleDict):
    """Runs the stages in order and returns the outputs of the named ones."""

    def __init__(self, stages, returned):
        super().__init__(stages)
        self.returned = returned

    def forward(self, x):
        out = OrderedDict()
        for name, stage in self.named_children():
            x = stage(x)
            if name in self.returned:
                out[self.returned[name]] = x
        return out


class FeatureHead(nn.Module):
    def __init__(self, in_channels, low_level_channels, num_classes):
        super().__init__()
        self.project = nn.Sequential(nn.Conv2d(low_level_channels, 12, 1), nn.ReLU())
        self.context = nn.Sequential(nn.Conv2d(in_channels, 20, 3, padding=1), nn.ReLU())
        self.classifier = nn.Conv2d(32, num_classes, 1)

    def forward(self, feature):
        low = self.project(feature["low_level"])
        context = F.interpolate(self.context(feature["out"]), size=low.shape[2:], mode="bilinear")
        return self.classifier(torch.cat([low, context], dim=1))


class Segmenter(nn.Module):
    def __init__(self, backbone, head):
        super().__init__()
        self.head = head            # registered before the backbone the image goes through
        self.backbone = backbone

    def forward(self, x):
        size = x.shape[-2:]
        return F.interpolate(self.head(self.backbone(x)), size=size, mode="bilinear")

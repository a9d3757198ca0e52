"""A detection head and a feature-pyramid neck: each takes a list of feature maps, one per level of a backbone."""
import torch
from torch import nn
from torch.nn import functional as F


class DetectionHead(nn.Module):
    def __init__(self, in_channels=(32, 64, 128), hidden=16, classes=5):
        super().__init__()
        self.stems = nn.ModuleList(nn.Conv2d(c, hidden, 1) for c in in_channels)
        self.cls_convs = nn.ModuleList(nn.Conv2d(hidden, hidden, 3, padding=1) for _ in in_channels)
        self.cls_preds = nn.ModuleList(nn.Conv2d(hidden, classes, 1) for _ in in_channels)

    def forward(self, xin, labels=None):
        outputs = []
        for k, (cls_conv, x) in enumerate(zip(self.cls_convs, xin)):
            x = self.stems[k](x)
            outputs.append(self.cls_preds[k](cls_conv(x)).flatten(2))
        return torch.cat(outputs, dim=2)


class Neck(nn.Module):
    def __init__(self, in_channels=(32, 64, 128), out_channels=16):
        super().__init__()
        self.lateral_convs = nn.ModuleList(nn.Conv2d(c, out_channels, 1) for c in in_channels)
        self.output_conv = nn.Conv2d(out_channels, out_channels, 3, padding=1)

    def forward(self, inputs):
        laterals = [conv(inputs[i]) for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(laterals[i], size=laterals[i - 1].shape[2:])
        return self.output_conv(laterals[0])

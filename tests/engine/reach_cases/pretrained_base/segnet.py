import torch
from torch import nn

from model_store import get_model_file


class Backbone(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU())

    def forward(self, x):
        return self.stem(x)


class SegNet(nn.Module):
    """A backbone, optionally ImageNet-pretrained, and a 1×1 classifier upsampled to the image."""

    def __init__(self, nclass, pretrained_base=True, root="~/.torch/models"):
        super().__init__()
        self.backbone = Backbone()
        if pretrained_base:
            self.backbone.load_state_dict(torch.load(get_model_file("backbone", root=root)))
        self.head = nn.Conv2d(16, nclass, 1)

    def forward(self, x):
        out = self.head(self.backbone(x))
        return nn.functional.interpolate(out, size=x.shape[2:], mode="bilinear", align_corners=False)


def get_segnet(dataset="voc", pretrained_base=True, **kwargs):
    classes = {"voc": 21, "citys": 19}
    return SegNet(classes[dataset], pretrained_base=pretrained_base, **kwargs)


def get_segnet_citys(**kwargs):
    return get_segnet("citys", **kwargs)

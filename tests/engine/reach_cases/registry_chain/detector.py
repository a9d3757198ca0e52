import torch.nn as nn

from backbone import build_backbone


class Detector(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.backbone = build_backbone(cfg)
        self.head = nn.Conv2d(cfg.width, cfg.classes, 1)

    def forward(self, x):
        return self.head(self.backbone(x))

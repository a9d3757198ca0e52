from torch import nn

from version_check import nms


class Head(nn.Module):
    def __init__(self, channels=8, anchors=4):
        super().__init__()
        self.boxes = nn.Conv2d(channels, anchors * 4, 3, padding=1)

    def forward(self, features):
        return self.boxes(features)

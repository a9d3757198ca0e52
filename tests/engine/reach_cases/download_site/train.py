import urllib.request

import torch.nn as nn

from head import Classifier


def pretrained_backbone():
    urllib.request.urlopen("https://example.com/backbone.pt")   # a download: archlint never makes it
    return nn.Sequential(nn.Conv2d(3, 16, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())


backbone = pretrained_backbone()
model = Classifier(backbone, classes=5)
with open("log.txt", "w") as log:
    log.write("built\n")

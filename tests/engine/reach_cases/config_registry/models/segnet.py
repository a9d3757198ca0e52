import torch
import torch.nn as nn


class SegNet(nn.Module):
    def __init__(self, num_classes, in_channels=3, width=8, pretrained=True, freeze_bn=False, **_):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU())
        self.classifier = nn.Conv2d(width, num_classes, 1)
        if pretrained:   # a checkpoint the authors keep beside the code, not in the repository
            self.encoder.load_state_dict(torch.load("pretrained/segnet_encoder.pth"))

    def forward(self, x):
        return self.classifier(self.encoder(x))

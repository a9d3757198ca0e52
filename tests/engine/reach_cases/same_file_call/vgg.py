import torch
import torch.nn as nn

cfg = {"tiny": [8, "M", 16, "M"], "small": [16, "M", 32, "M"]}


class VGG(nn.Module):
    def __init__(self, vgg_name):
        super().__init__()
        layers, channels = [], 3
        for item in cfg[vgg_name]:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU()]
                channels = item
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels * 8 * 8, 10)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def test():
    net = VGG("tiny")
    y = net(torch.randn(1, 3, 32, 32))
    print(y.size())

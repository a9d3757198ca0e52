from torch import nn


class Head(nn.Module):
    def __init__(self, width, classes):
        super().__init__()
        self.out = nn.Linear(width, classes)

    def forward(self, x):
        return self.out(x)


class Classifier(nn.Module):
    def __init__(self, features=6, classes=3):
        super().__init__()
        self.width = features * 4
        self.trunk = nn.Sequential(nn.Linear(features, self.width), nn.ReLU())
        self.head = Head(self.width, classes)

    def forward(self, x):
        return self.head(self.trunk(x))

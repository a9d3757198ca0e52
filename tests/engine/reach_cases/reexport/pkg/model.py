import torch.nn as nn

from .layers import Residual


class Classifier(nn.Module):
    def __init__(self, size=20, classes=3):
        super().__init__()
        self.block = Residual(size)
        self.head = nn.Linear(size, classes)

    def forward(self, x):
        return self.head(self.block(x))

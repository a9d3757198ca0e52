"""A factory that passes a string where the layer needs an int (a config value read as text)."""
from torch import nn


class Classifier(nn.Module):
    def __init__(self, num_classes):
        super().__init__()
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.fc(x)


def classifier_from_config():
    return Classifier("10")

"""Bad input: a flatten feeding a Linear sized for another input resolution."""
from torch import nn


class FixedSizeHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(4 * 32 * 32, 10)   # only fits 32x32 inputs

    def forward(self, x):
        return self.fc(self.flatten(self.conv(x).relu()))

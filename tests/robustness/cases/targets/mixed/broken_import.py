"""Bad input: module-level code raises while the file is imported."""
from torch import nn

CONFIG = {"width": 64}
WIDTH = CONFIG["depth"]  # KeyError at import time


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(WIDTH, 2)

    def forward(self, x):
        return self.fc(x)

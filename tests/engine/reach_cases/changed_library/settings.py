import yaml
from torch import nn


class Settings(nn.Module):
    """Reads its sizes with a call written for another version of a library: the installed PyYAML's safe_load
    takes the stream only."""

    def __init__(self, width=None):
        super().__init__()
        sizes = yaml.safe_load("width: 8", yaml.SafeLoader)
        self.fc = nn.Linear(width or sizes["width"], 2)

    def forward(self, x):
        return self.fc(x)

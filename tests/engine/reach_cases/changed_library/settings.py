import yaml
from torch import nn


class Settings(nn.Module):
    """Reads its sizes with a call written for another version of a library: the installed PyYAML's safe_load
    takes the stream only."""

    def __init__(self):
        super().__init__()
        sizes = yaml.safe_load("width: 8", yaml.SafeLoader)
        self.fc = nn.Linear(sizes["width"], 2)

    def forward(self, x):
        return self.fc(x)

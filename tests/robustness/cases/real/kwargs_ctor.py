"""A constructor reading its settings from **kwargs, called with none."""
from torch import nn


class KwargsNet(nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        self.fc = nn.Linear(kwargs["in_dim"], kwargs.get("out_dim", 2))

    def forward(self, x):
        return self.fc(x)

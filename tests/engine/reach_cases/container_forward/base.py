import torch.nn as nn


class BaseModel(nn.Module):
    """What every model of the repository extends: a summary and a forward each one writes."""

    def forward(self, x):
        raise NotImplementedError

    def summary(self):
        return sum(p.numel() for p in self.parameters())

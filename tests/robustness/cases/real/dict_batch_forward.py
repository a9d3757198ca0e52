"""A forward that takes the data loader's batch dict."""
from torch import nn


class BatchDict(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 2)

    def forward(self, batch):
        return self.fc(batch["features"])

"""Odd input: forward returns a dict (as many detection/segmentation models do)."""
from torch import nn


class DictOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        features = self.body(x).relu()
        return {"logits": self.head(features), "features": features}

"""A constructor that loads a checkpoint from a path that exists only on the author's machine."""
import torch
from torch import nn


class Restored(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(16, 4)
        self.load_state_dict(torch.load("checkpoints/best.pth", map_location="cpu"))

    def forward(self, x):
        return self.fc(x)

"""A training script that puts the model on CUDA at module level (no GPU here)."""
import torch
from torch import nn


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 3)

    def forward(self, x):
        return self.fc(x)


device = torch.device("cuda")
model = Small().to(device)

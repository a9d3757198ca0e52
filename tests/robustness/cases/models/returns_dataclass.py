"""Odd input: forward returns a dataclass (like HuggingFace ModelOutput)."""
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class Output:
    logits: torch.Tensor
    features: torch.Tensor


class DataclassOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        features = self.body(x).relu()
        return Output(self.head(features), features)

"""Odd input: forward takes two tensors."""
from torch import nn


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = nn.Linear(4, 8)
        self.text = nn.Linear(6, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, image, text):
        return self.head(self.image(image) + self.text(text))

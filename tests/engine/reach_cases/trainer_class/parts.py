from torch import nn


class Scale(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.gain = nn.Linear(width, width)

    def forward(self, x):
        return x * self.gain(x).sigmoid()

from torch import nn

from gate import *


class Block(nn.Module):
    def __init__(self, channels, use_gate):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.gate = ChannelGate(channels) if use_gate else None

    def forward(self, x):
        x = self.conv(x).relu()
        return self.gate(x) if self.gate is not None else x


class Network(nn.Module):
    def __init__(self, widths=(16, 16), use_gate=True):
        super().__init__()
        self.stem = nn.Conv2d(3, widths[0], 3, padding=1)
        self.blocks = nn.Sequential(*[Block(w, use_gate) for w in widths])

    def forward(self, x):
        return self.blocks(self.stem(x))

import torch.nn as nn

from common.layers import ScaledLinear
from common.buffers import Buffer


class QNetwork(nn.Module):
    def __init__(self, observations, actions):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(observations, 32), nn.ReLU())
        self.head = ScaledLinear(32, actions)

    def forward(self, x):
        return self.head(self.body(x))


model = QNetwork(8, 4)
memory = Buffer(1000)

"""Networks whose sizes only the experiment classes give."""
from torch import nn


class Encoder(nn.Module):
    def __init__(self, features, hidden, depth):
        super().__init__()
        layers = [nn.Linear(features, hidden), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Linear(hidden, hidden), nn.ReLU()]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x)


class Critic(nn.Module):
    def __init__(self, hidden, outputs):
        super().__init__()
        self.score = nn.Sequential(nn.Linear(hidden, hidden // 2), nn.Tanh(), nn.Linear(hidden // 2, outputs))

    def forward(self, h):
        return self.score(h)

import torch
import torch.nn as nn


class Coupling(nn.Module):
    def __init__(self, channels, hidden):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(channels // 2, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv1d(hidden, channels, 3, padding=1))

    def forward(self, x):
        a, b = x.chunk(2, dim=1)
        log_scale, shift = self.net(a).chunk(2, dim=1)
        return torch.cat([a, b * log_scale.exp() + shift], dim=1)


class Flow(nn.Module):
    def __init__(self, channels, flows, hidden):
        super().__init__()
        self.couplings = nn.ModuleList([Coupling(channels, hidden) for _ in range(flows)])

    def forward(self, x):
        for coupling in self.couplings:
            x = coupling(x).flip(1)
        return x

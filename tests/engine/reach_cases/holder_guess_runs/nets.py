from torch import nn


class Tiny(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.proj = nn.Linear(features, 4)

    def forward(self, x):
        return self.proj(x)


class Scaler(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x * 2)

"""A model whose smoke test was left commented out at the bottom, and nothing else builds it."""
import torch
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc1 = nn.Linear(8, width)
        self.fc2 = nn.Linear(width, 2)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

# net = Net(12)
# x = torch.randn(2, 8)
# print(net(x).size())

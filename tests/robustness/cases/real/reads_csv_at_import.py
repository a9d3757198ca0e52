"""Module-level code loads a dataset the model does not need (a training script's top half)."""
import csv

from torch import nn

rows = list(csv.reader(open("data/train.csv")))


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, x):
        return self.net(x)

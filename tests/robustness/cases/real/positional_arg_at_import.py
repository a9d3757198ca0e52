"""A script whose module level parses a required positional argument."""
import argparse

from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("data_dir")
parser.add_argument("--width", type=int, default=32)
args = parser.parse_args()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(10, args.width)

    def forward(self, x):
        return self.fc(x)

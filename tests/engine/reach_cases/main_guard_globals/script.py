"""A script whose layers read the parsed arguments as a global, which only its main guard binds."""
import argparse

import torch
from torch import nn


class Scorer(nn.Module):
    def __init__(self, features):
        super().__init__()
        self.hidden = nn.Linear(features, args.hidden)
        self.out = nn.Linear(args.hidden, args.classes)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


def main():
    model = Scorer(12)
    print(model(torch.randn(3, 12)).shape)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=20)
    parser.add_argument("--classes", type=int, default=3)
    args = parser.parse_args()
    main()

import argparse

import torch.nn as nn

parser = argparse.ArgumentParser(description="train")
parser.add_argument("--hidden", type=int, default=12)
args = parser.parse_args()


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, args.hidden)

    def forward(self, x):
        return self.fc(x)

import argparse

import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--data", required=True)
parser.add_argument("--hidden", type=int, default=16)
args = parser.parse_args()


class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc = nn.Linear(4, hidden)

    def forward(self, x):
        return self.fc(x)


model = Net(args.hidden)

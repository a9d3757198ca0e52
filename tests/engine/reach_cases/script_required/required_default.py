import argparse

import torch.nn as nn

parser = argparse.ArgumentParser()
# required, and a default anyway (argparse ignores it): the value the script's author meant
parser.add_argument("--hidden", type=int, required=True, default=24)
args = parser.parse_args()


class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, args.hidden)

    def forward(self, x):
        return self.fc(x)

import argparse

import torch.nn as nn

parser = argparse.ArgumentParser()
parser.add_argument("--vocabulary", type=argparse.FileType("r"), required=True)
args = parser.parse_args()
words = args.vocabulary.read().split()


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(words), 8)

    def forward(self, x):
        return self.embed(x)

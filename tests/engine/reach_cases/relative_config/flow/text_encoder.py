import torch.nn as nn

with open("symbols.txt") as lines:
    SYMBOLS = [line.strip() for line in lines]


class TextEncoder(nn.Module):
    def __init__(self, symbols=len(SYMBOLS), dim=8):
        super().__init__()
        self.embed = nn.Embedding(symbols, dim)
        self.conv = nn.Conv1d(dim, dim, 5, padding=2)

    def forward(self, ids):
        return self.conv(self.embed(ids).transpose(1, 2))

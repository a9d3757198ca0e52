"""Odd input: a language model whose output layer shares the embedding matrix (tied weights)."""
from torch import nn


class TiedLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.mix = nn.Linear(16, 16)
        self.out = nn.Linear(16, 100, bias=False)
        self.out.weight = self.embed.weight   # tied: one matrix, two uses

    def forward(self, tokens):
        return self.out(self.mix(self.embed(tokens)).relu())

import torch
import torch.nn as nn


class TextEncoder(nn.Module):
    """Token ids of a fixed context: the learned position of each of its 20 places is added to every sequence."""

    def __init__(self, vocabulary=1000, width=32, context=20):
        super().__init__()
        self.token = nn.Embedding(vocabulary, width)
        self.position = nn.Parameter(torch.zeros(context, width))
        self.layer = nn.TransformerEncoderLayer(width, 4, 64, batch_first=True)
        self.norm = nn.LayerNorm(width)

    def forward(self, tokens):
        x = self.token(tokens)
        x += self.position
        return self.norm(self.layer(x))

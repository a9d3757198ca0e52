import torch.nn as nn


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size, dim):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.norm = nn.LayerNorm(dim)

    def forward(self, ids):
        return self.norm(self.tokens(ids))

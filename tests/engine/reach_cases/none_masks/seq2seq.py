"""A small sequence-to-sequence Transformer whose forward requires every mask the training loop makes."""
import torch
from torch import nn


class Pooling(nn.Module):
    def forward(self, states, keep):
        if keep is None:
            return states.mean(dim=0)
        return (states * keep.unsqueeze(-1)).sum(dim=0) / keep.sum(dim=0, keepdim=True).T


class Seq2Seq(nn.Module):
    def __init__(self, vocabulary: int = 50, width: int = 32) -> None:
        super().__init__()
        self.source_embedding = nn.Embedding(vocabulary, width)
        self.target_embedding = nn.Embedding(vocabulary, width)
        self.transformer = nn.Transformer(d_model=width, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
                                          dim_feedforward=64, dropout=0.0)
        self.pool = Pooling()
        self.head = nn.Linear(width, vocabulary)

    def forward(self, source, target, source_mask, target_mask, source_padding, target_padding, keep):
        decoded = self.transformer(self.source_embedding(source), self.target_embedding(target), source_mask,
                                   target_mask, None, source_padding, target_padding)
        return self.head(decoded), self.pool(decoded, keep)


model = Seq2Seq()

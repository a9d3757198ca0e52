"""A factory that returns the model with its loss, as `create_model_and_diffusion` returns its pair."""
import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self, vocab, dim):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.out = nn.Linear(dim, 4)

    def forward(self, ids):
        return self.out(self.embed(ids))


def create_model_and_loss(vocab=50, dim=24):
    return Tagger(vocab, dim), nn.CrossEntropyLoss()

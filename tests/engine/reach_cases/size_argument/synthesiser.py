import torch
from torch import nn


def mask_from_lengths(lengths, longest):
    positions = torch.arange(0, longest).unsqueeze(0).expand(lengths.shape[0], -1)
    return positions >= lengths.unsqueeze(1)


class Synthesiser(nn.Module):
    def __init__(self, vocab=40, hidden=24, mels=20):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.encoder = nn.Conv1d(hidden, hidden, 3, padding=1)
        self.to_mel = nn.Linear(hidden, mels)

    def forward(self, texts, lengths, longest):
        # the lengths of the texts and the longest of them: a Python int the forward makes a range of
        mask = mask_from_lengths(lengths, longest)
        hidden = self.embed(texts).masked_fill(mask.unsqueeze(-1), 0.0)
        hidden = self.encoder(hidden.transpose(1, 2)).transpose(1, 2)
        return self.to_mel(hidden)

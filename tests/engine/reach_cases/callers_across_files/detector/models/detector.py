import torch
from torch import nn

from .encoder import build_encoder


class Detector(nn.Module):
    def __init__(self, encoder, hidden, queries):
        super().__init__()
        self.stem = nn.Conv2d(3, hidden, 4, stride=4)
        self.position = nn.Parameter(torch.zeros(1, hidden, 8, 8))
        self.queries = nn.Embedding(queries, hidden)
        self.encoder = encoder
        self.boxes = nn.Linear(hidden, 4)

    def forward(self, images):
        features = self.stem(images)
        position = nn.functional.interpolate(self.position, size=features.shape[-2:])
        mask = torch.zeros(features.shape[0], *features.shape[-2:], dtype=torch.bool)
        return self.boxes(self.encoder(features, mask, position, self.queries.weight))


def build(args):
    encoder = build_encoder(args)
    model = Detector(encoder, args.hidden, args.queries)
    criterion = nn.L1Loss()
    return model, criterion

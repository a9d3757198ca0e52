"""A tiny language model and the function that loads published weights into it."""
import json
import urllib.request
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class TinyConfig:
    vocabulary: int = 64
    width: int = 32
    layers: int = 2


class TinyLM(nn.Module):
    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.embed = nn.Embedding(config.vocabulary, config.width)
        self.blocks = nn.Sequential(*[nn.Sequential(nn.Linear(config.width, config.width), nn.GELU())
                                      for _ in range(config.layers)])
        self.head = nn.Linear(config.width, config.vocabulary)

    def forward(self, ids):
        return self.head(self.blocks(self.embed(ids)))


def from_pretrained(name: str) -> TinyLM:
    with urllib.request.urlopen(f"https://example.org/{name}/config.json") as answer:
        config = TinyConfig(**json.load(answer))
    model = TinyLM(config)
    model.load_state_dict(torch.hub.load_state_dict_from_url(f"https://example.org/{name}/weights.pt"))
    return model

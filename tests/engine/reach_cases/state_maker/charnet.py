"""A character-level GRU over time-major batches: (time, batch) ids in, the state carried from call to call."""
import torch
from torch import nn


class CharGRU(nn.Module):
    def __init__(self, vocabulary: int = 40, width: int = 32, layers: int = 2) -> None:
        super().__init__()
        self.layers, self.width = layers, width
        self.embed = nn.Embedding(vocabulary, width)
        self.gru = nn.GRU(width, width, layers)
        self.head = nn.Linear(width, vocabulary)

    def forward(self, tokens, state):
        steps, state = self.gru(self.embed(tokens), state)
        return self.head(steps), state

    def init_state(self, batch_size: int) -> torch.Tensor:
        return torch.zeros(self.layers, batch_size, self.width)


model = CharGRU()


class Scorer(nn.Module):
    """Its forward takes `weights`; init_weights() re-initialises the layer: never a maker of the argument."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(6, 6)

    def forward(self, x, weights):
        return self.layer(x) * weights

    def init_weights(self) -> torch.Tensor:
        nn.init.zeros_(self.layer.weight)
        return torch.ones(6)


scorer = Scorer()

from dataclasses import dataclass

from torch import nn


@dataclass
class EncoderConfig:
    width: int
    depth: int
    dropout: float = 0.1


class Encoder(nn.Module):
    def __init__(self, config: EncoderConfig) -> None:
        super().__init__()
        layers = [nn.Linear(config.width, config.width) for _ in range(config.depth)]
        self.layers = nn.Sequential(*layers, nn.Dropout(config.dropout))

    def forward(self, x):
        return self.layers(x)

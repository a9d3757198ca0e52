from torch import nn


class Encoder(nn.Module):
    """Built from a list of block settings, which only its own factory gives."""

    def __init__(self, blocks=None, width=8):
        super().__init__()
        assert isinstance(blocks, list), "blocks should be a list"
        self.layers = nn.Sequential(*[nn.Conv2d(3 if i == 0 else width, width, 3, padding=1) for i in blocks])

    def forward(self, x):
        return self.layers(x)

import torch.nn as nn


class Encoder(nn.Module):
    def __init__(self, embed_dim: int, depth: int):
        super().__init__()
        self.patch = nn.Conv2d(3, embed_dim, 4, stride=4)
        self.blocks = nn.Sequential(*[nn.Conv2d(embed_dim, embed_dim, 3, padding=1) for _ in range(depth)])

    def forward(self, x):
        return self.blocks(self.patch(x))


class Decoder(nn.Module):
    def __init__(self, embed_dim: int, classes: int):
        super().__init__()
        self.head = nn.Conv2d(embed_dim, classes, 1)

    def forward(self, x):
        return self.head(x)


class Segmenter(nn.Module):
    def __init__(self, encoder: Encoder, decoder: Decoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, x):
        return self.decoder(self.encoder(x))

import torch.nn as nn


class Generator(nn.Module):
    """Its constructor declares the image size it makes (`input_size`); it reads a noise vector."""

    def __init__(self, input_dim=100, output_dim=1, input_size=32):
        super().__init__()
        self.input_size = input_size
        self.fc = nn.Sequential(nn.Linear(input_dim, 128 * (input_size // 4) ** 2), nn.ReLU())
        self.deconv = nn.Sequential(nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.ReLU(),
                                    nn.ConvTranspose2d(64, output_dim, 4, 2, 1), nn.Tanh())

    def forward(self, noise):
        x = self.fc(noise).view(-1, 128, self.input_size // 4, self.input_size // 4)
        return self.deconv(x)

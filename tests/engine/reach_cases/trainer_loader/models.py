from torch import nn


class Generator(nn.Module):
    """Starts from a code of z_dim numbers, viewed as a 1×1 map, and doubles it to the image size."""

    def __init__(self, image_size, z_dim, conv_dim):
        super().__init__()
        layers, channels, size = [nn.ConvTranspose2d(z_dim, conv_dim * 4, 4), nn.ReLU()], conv_dim * 4, 4
        while size < image_size:
            layers += [nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1), nn.ReLU()]
            channels, size = channels // 2, size * 2
        self.net = nn.Sequential(*layers, nn.Conv2d(channels, 3, 3, padding=1), nn.Tanh())

    def forward(self, z):
        return self.net(z.view(z.size(0), z.size(1), 1, 1))

import torch.nn as nn


class Unet(nn.Module):
    def __init__(self, dim, dim_mults=(1, 2), channels=3):
        super().__init__()
        widths = [dim * m for m in dim_mults]
        self.inp = nn.Conv2d(channels, widths[0], 3, padding=1)
        self.mid = nn.Conv2d(widths[0], widths[-1], 3, padding=1)
        self.out = nn.Conv2d(widths[-1], channels, 1)

    def forward(self, x, t):
        return self.out(self.mid(self.inp(x))) * t[:, None, None, None]

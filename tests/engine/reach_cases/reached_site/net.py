import torch.nn as nn


class Net(nn.Module):
    def __init__(self, width, freeze_bn=False, **_):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3)
        if freeze_bn:
            self.conv.requires_grad_(False)
        if freeze_backbone:   # not a parameter: the repository's own mistake, met by every call
            self.conv.requires_grad_(False)

    def forward(self, x):
        return self.conv(x)

"""Bad input here: the constructor moves the model to CUDA, and this machine has no GPU."""
from torch import nn


class CudaNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.cuda()

    def forward(self, x):
        return self.conv(x)

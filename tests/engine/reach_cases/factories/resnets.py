import torch.nn as nn


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1)

    def forward(self, x):
        return x + self.conv(x)


class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.blocks = nn.Sequential(*[block(16) for _ in range(sum(num_blocks))])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))


def ResNet8():
    return ResNet(Block, [1, 1, 1])


def ResNet14():
    """Deeper."""
    return ResNet(Block, [2, 2, 2])


def train():
    model = ResNet8()
    raise RuntimeError("a training loop is never called")

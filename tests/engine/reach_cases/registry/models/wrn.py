import torch.nn as nn

__all__ = ["wrn"]


class WideResNet(nn.Module):
    def __init__(self, depth, num_classes=10, widen_factor=1):
        super().__init__()
        assert (depth - 4) % 6 == 0, "depth should be 6n+4"
        width = 8 * widen_factor
        self.stem = nn.Conv2d(3, width, 3, padding=1)
        self.body = nn.Sequential(*[nn.Conv2d(width, width, 3, padding=1) for _ in range((depth - 4) // 6)])
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(self.body(self.stem(x)).mean((2, 3)))


def wrn(**kwargs):
    return WideResNet(**kwargs)

import torch.nn as nn

__all__ = ["resnext"]


class ResNeXt(nn.Module):
    def __init__(self, depth, num_classes=10, cardinality=2):
        super().__init__()
        assert (depth - 2) % 9 == 0, "depth should be 9n+2"
        blocks = (depth - 2) // 9
        self.stem = nn.Conv2d(3, 8 * cardinality, 3, padding=1)
        self.body = nn.Sequential(*[nn.Conv2d(8 * cardinality, 8 * cardinality, 3, padding=1, groups=cardinality)
                                    for _ in range(blocks)])
        self.fc = nn.Linear(8 * cardinality, num_classes)

    def forward(self, x):
        return self.fc(self.body(self.stem(x)).mean((2, 3)))


def resnext(**kwargs):
    return ResNeXt(**kwargs)

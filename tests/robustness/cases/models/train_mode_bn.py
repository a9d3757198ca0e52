"""Invariant input: BatchNorm in training mode, dropout, frozen layers (requires_grad False)."""
from torch import nn


class TrainModeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8, 4)
        for p in self.stem.parameters():
            p.requires_grad_(False)
        self.train()
        self.fc.eval()   # mixed flags: the lint must restore each module's own flag

    def forward(self, x):
        x = self.bn(self.stem(x)).relu().mean((2, 3))
        return self.fc(self.drop(x))

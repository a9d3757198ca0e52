from torch import nn


class Mover(nn.Module):
    """Moves its input to the GPU in its forward, as multi-crop training code does."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        x = x.cuda(non_blocking=True)
        return self.fc(x)

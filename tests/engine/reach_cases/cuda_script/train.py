"""Written for a machine with a GPU: the device is hard-coded and the model moved there as it is built."""
from torch import nn

device = "cuda"


class Net(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.head = nn.Linear(width, 10)

    def forward(self, x):
        return self.head(self.conv(x).mean(dim=(2, 3)))


model = Net(16).to(device)
backup = Net(8).cuda()
criterion = nn.CrossEntropyLoss()   # a library module without weights: not a model

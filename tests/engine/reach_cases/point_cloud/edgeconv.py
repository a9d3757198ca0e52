import torch
from torch import nn


def knn(x, k):
    inner = -2 * torch.matmul(x.transpose(2, 1), x)
    squares = torch.sum(x ** 2, dim=1, keepdim=True)
    return (-squares - inner - squares.transpose(2, 1)).topk(k=k, dim=-1)[1]


def edge_features(x, k=4):
    """(batch, dims, points) -> (batch, 2 * dims, points, k): each point beside its k nearest neighbours."""
    batch, points = x.size(0), x.size(2)
    x = x.view(batch, -1, points)
    offsets = torch.arange(0, batch, device=torch.device("cuda")).view(-1, 1, 1) * points   # written for a GPU
    index = (knn(x, k) + offsets).view(-1)
    dims = x.size(1)
    x = x.transpose(2, 1).contiguous()
    neighbours = x.view(batch * points, -1)[index, :].view(batch, points, k, dims)
    x = x.view(batch, points, 1, dims).repeat(1, 1, k, 1)
    return torch.cat((neighbours - x, x), dim=3).permute(0, 3, 1, 2).contiguous()


class EdgeConvNet(nn.Module):
    """A point cloud classifier: its first layer is a 2-D convolution, its input a (batch, 3, points) cloud."""

    def __init__(self, classes=10):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(6, 16, 1, bias=False), nn.BatchNorm2d(16), nn.LeakyReLU(0.2))
        self.conv2 = nn.Sequential(nn.Conv2d(32, 32, 1, bias=False), nn.BatchNorm2d(32), nn.LeakyReLU(0.2))
        self.head = nn.Linear(32, classes)

    def forward(self, x):
        x = self.conv1(edge_features(x)).max(dim=-1)[0]
        x = self.conv2(edge_features(x)).max(dim=-1)[0]
        return self.head(x.max(dim=-1)[0])

import torch
import torch.nn as nn


class RadianceField(nn.Module):
    """Positions and view directions arrive as one vector, split before the first layer."""

    def __init__(self, points=3, views=3, width=32):
        super().__init__()
        self.points, self.views = points, views
        self.encode = nn.Sequential(nn.Linear(points, width), nn.ReLU(), nn.Linear(width, width))
        self.density = nn.Linear(width, 1)
        self.colour = nn.Sequential(nn.Linear(width + views, width // 2), nn.ReLU(), nn.Linear(width // 2, 3))

    def forward(self, x):
        positions, directions = torch.split(x, [self.points, self.views], dim=-1)
        features = self.encode(positions)
        colour = self.colour(torch.cat([features, directions], dim=-1))
        return torch.cat([colour.sigmoid(), self.density(features).relu()], dim=-1)

import pytest
import torch
import torch.nn as nn

from wrap import Scaled

param = pytest.mark.parametrize


@param("scale", (0.5, 2.0))
def test_scaled(scale):
    net = nn.Sequential(nn.Linear(6, 12), nn.ReLU(), nn.Linear(12, 3))
    model = Scaled(net, scale=scale)
    assert model(torch.randn(2, 6)).shape == (2, 3)

import torch
import torch.nn as nn


def to_boxes(prediction, anchors, CUDA=True):
    """Offsets per anchor; the grid is made on the GPU when asked to."""
    grid = torch.arange(prediction.shape[-1], dtype=prediction.dtype)
    if CUDA:
        grid = grid.cuda()
    return prediction.sigmoid() + grid * anchors


class Detector(nn.Module):
    def __init__(self, anchors=3):
        super().__init__()
        self.anchors = anchors
        self.features = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                                      nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU())
        self.predict = nn.Conv2d(16, anchors * 5, 1)

    def forward(self, x, CUDA):
        prediction = self.predict(self.features(x))
        return to_boxes(prediction, self.anchors, CUDA)

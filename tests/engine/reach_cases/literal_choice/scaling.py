"""A per-series scaler whose forward takes what to do as a word: `scaler(x, "scale")` before the network,
`scaler(y, "unscale")` after it; anything else is refused."""
import torch
from torch import nn


class SeriesScaler(nn.Module):
    def __init__(self, channels: int = 5, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gain = nn.Parameter(torch.ones(channels))
        self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        return self._transform(x, direction)

    def _transform(self, x: torch.Tensor, direction: str) -> torch.Tensor:
        if direction in ("scale", "fit"):
            self.center = x.mean(dim=1, keepdim=True).detach()
            self.spread = (x.var(dim=1, keepdim=True, unbiased=False) + self.eps).sqrt().detach()
            return (x - self.center) / self.spread * self.gain + self.shift
        if direction == "unscale":
            return (x - self.shift) / self.gain * self.spread + self.center
        raise ValueError(f"unknown direction {direction!r}")

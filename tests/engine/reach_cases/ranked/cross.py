"""A block joining a spectrogram's frames and a waveform's steps: its forward says each input's rank by unpacking."""
import torch
from torch import nn


class CrossEncoder(nn.Module):
    def __init__(self, dim=32):
        super().__init__()
        self.norm_spectral = nn.LayerNorm(dim)
        self.norm_temporal = nn.LayerNorm(dim)
        self.mix = nn.Linear(dim, dim)

    def forward(self, x, xt):
        B, C, Fr, T1 = x.shape
        _, _, T2 = xt.shape
        spectral = self.norm_spectral(x.flatten(2).transpose(1, 2))     # B, Fr * T1, C
        temporal = self.norm_temporal(xt.transpose(1, 2))               # B, T2, C
        out = self.mix(torch.cat([spectral, temporal], dim=1))
        return out[:, :Fr * T1].transpose(1, 2).reshape(B, C, Fr, T1), out[:, Fr * T1:].transpose(1, 2)

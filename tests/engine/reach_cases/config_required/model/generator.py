import torch.nn as nn


class Generator(nn.Module):
    def __init__(self, mel_channel, width=16):
        super().__init__()
        self.conv = nn.Conv1d(mel_channel, width, 7, padding=3)
        self.out = nn.Conv1d(width, 1, 7, padding=3)

    def forward(self, mel):
        return self.out(self.conv(mel).relu())

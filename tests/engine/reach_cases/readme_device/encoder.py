import torch.nn as nn


class SpeechEncoder(nn.Module):
    """Spectrogram frames (batch, time, features) with their lengths; the forward adds the channel axis itself."""

    def __init__(self, features, width=8):
        super().__init__()
        self.subsample = nn.Sequential(nn.Conv2d(1, width, 3, stride=2), nn.ReLU(),
                                       nn.Conv2d(width, width, 3, stride=2), nn.ReLU())
        self.project = nn.Linear(width * (((features - 1) // 2 - 1) // 2), 32)

    def forward(self, inputs, lengths):
        maps = self.subsample(inputs.unsqueeze(1))
        batch, channels, steps, bins = maps.shape
        frames = maps.permute(0, 2, 1, 3).reshape(batch, steps, channels * bins)
        return self.project(frames), (lengths >> 2) - 1

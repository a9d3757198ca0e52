from torch import nn


class Spectrogram(nn.Module):
    def __init__(self, n_fft, mels):
        super().__init__()
        self.project = nn.Conv1d(n_fft, mels, 1)

    def forward(self, frames):
        return self.project(frames)


class Vocoder(nn.Module):
    def __init__(self, mels, hidden):
        super().__init__()
        import vocoder_kernels_not_installed   # a package this machine lacks
        self.net = nn.Conv1d(mels, hidden, 3)

    def forward(self, mel):
        return self.net(mel)

from torch import nn


class DQN(nn.Module):
    """The Atari Q-network: four stacked 84x84 frames; its head's size is written as 7 * 7 * 64."""

    def __init__(self, frames=4, actions=6):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(frames, 32, 8, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 4, stride=2), nn.ReLU(),
            nn.Conv2d(64, 64, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.head = nn.Sequential(nn.Linear(7 * 7 * 64, 512), nn.ReLU(), nn.Linear(512, actions))

    def forward(self, frames):
        return self.head(self.features(frames))

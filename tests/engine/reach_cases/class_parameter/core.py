import torch.nn as nn


class ActorCritic(nn.Module):
    def __init__(self, observations, actions, hidden=32):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(observations, hidden), nn.Tanh())
        self.pi = nn.Linear(hidden, actions)
        self.v = nn.Linear(hidden, 1)

    def forward(self, obs):
        features = self.body(obs)
        return self.pi(features), self.v(features)

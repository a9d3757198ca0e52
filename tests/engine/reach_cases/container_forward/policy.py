import torch
import torch.nn as nn


class ActorCritic(nn.Module):
    """Used through act() and evaluate(), as policy-gradient agents are: its forward is never called."""

    def __init__(self, state_dim=8, action_dim=4):
        super().__init__()
        self.actor = nn.Sequential(nn.Linear(state_dim, 64), nn.Tanh(), nn.Linear(64, action_dim), nn.Softmax(dim=-1))
        self.critic = nn.Sequential(nn.Linear(state_dim, 64), nn.Tanh(), nn.Linear(64, 1))
        self.register_buffer("steps", torch.zeros(()))

    def forward(self):
        raise NotImplementedError

    def act(self, state):
        return torch.distributions.Categorical(self.actor(state)).sample()

    def evaluate(self, state):
        return self.actor(state), self.critic(state)

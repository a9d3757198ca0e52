"""Networks built inside a plain agent class, whose sizes only the training script knows."""
import torch
from torch import nn


class Actor(nn.Module):
    def __init__(self, state_dim, action_dim, max_action):
        super().__init__()
        self.l1 = nn.Linear(state_dim, 64)
        self.l2 = nn.Linear(64, action_dim)
        self.max_action = max_action

    def forward(self, state):
        return self.max_action * torch.tanh(self.l2(torch.relu(self.l1(state))))


class Agent(object):
    def __init__(self, state_dim, action_dim, max_action, discount=0.99):
        self.actor = Actor(state_dim, action_dim, max_action)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
        self.discount = discount

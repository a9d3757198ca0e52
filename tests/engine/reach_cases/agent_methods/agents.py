"""Policies without forward(): an agent used through get_action_and_value, an actor-critic with pi() and v(), and an
auto-encoder whose encode(x) and decode(z) take different things."""
import torch
from torch import nn
from torch.distributions import Categorical


class Agent(nn.Module):
    def __init__(self, env):
        super().__init__()
        self.critic = nn.Sequential(nn.Linear(env.observation_size, 32), nn.Tanh(), nn.Linear(32, 1))
        self.actor = nn.Sequential(nn.Linear(env.observation_size, 32), nn.Tanh(), nn.Linear(32, env.actions))
        self.temperature = nn.Parameter(torch.ones(1))

    def get_value(self, x):
        return self.critic(x)

    def get_action_and_value(self, x, action=None):
        probs = Categorical(logits=self.actor(x) / self.temperature)
        if action is None:
            action = probs.sample()
        return action, probs.log_prob(action), probs.entropy(), self.get_value(x)

    def update(self, batch, optimizer):
        # uses every part too, but it trains: never run by a lint
        loss = self.get_action_and_value(batch)[1].mean() + self.critic(batch).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


class ActorCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 64)
        self.fc_pi = nn.Linear(64, 2)
        self.fc_v = nn.Linear(64, 1)

    def pi(self, x, softmax_dim=0):
        return torch.softmax(self.fc_pi(torch.relu(self.fc1(x))), dim=softmax_dim)

    def v(self, x):
        return self.fc_v(torch.relu(self.fc1(x)))


class Unrelated(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(8, 2)
        self.decoder = nn.Linear(2, 8)

    def encode(self, x):
        return self.encoder(x)

    def decode(self, z):
        return self.decoder(z)

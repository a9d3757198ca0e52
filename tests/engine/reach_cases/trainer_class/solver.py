"""A solver object that keeps the configuration on itself and builds its networks in a method."""
import torch

from nets import Critic


class Solver:
    def __init__(self, loader, config):
        self.loader = loader
        self.hidden = config.hidden
        self.outputs = config.outputs
        self.lr = config.lr
        self.build_model()

    def build_model(self):
        self.critic = Critic(self.hidden, self.outputs)
        self.optimizer = torch.optim.Adam(self.critic.parameters(), self.lr)

    def train(self):
        for x, y in self.loader:
            loss = ((self.critic(x) - y) ** 2).mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()

"""An RL script: sizes read from an environment made at module level, then a call the installed library no longer
has (gym 0.26 removed `env.seed`), then the networks."""
import types

import torch.nn as nn
import torch.nn.functional as F

env = types.SimpleNamespace(observation_space=types.SimpleNamespace(shape=(6,)),
                            action_space=types.SimpleNamespace(n=3))
num_state = env.observation_space.shape[0]
num_action = env.action_space.n
env.seed(1)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(num_state, 32)
        self.fc2 = nn.Linear(32, num_action)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))

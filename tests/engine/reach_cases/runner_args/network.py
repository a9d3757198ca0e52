"""An RL network sized by the arguments object, which the runner fills in from its environment."""
import torch.nn as nn


class QNet(nn.Module):
    def __init__(self, args):
        super().__init__()
        self.fc1 = nn.Linear(args.state_dim, args.hidden_width)
        self.fc2 = nn.Linear(args.hidden_width, args.action_dim)

    def forward(self, s):
        return self.fc2(self.fc1(s).relu())

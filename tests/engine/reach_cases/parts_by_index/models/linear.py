from torch import nn


class Model(nn.Module):
    """A forecaster of a model zoo where every file's class is `Model`, built from the experiment's settings."""

    def __init__(self, configs):
        super().__init__()
        self.project = nn.Linear(configs.seq_len, configs.pred_len)

    def forward(self, x):
        return self.project(x.transpose(1, 2)).transpose(1, 2)

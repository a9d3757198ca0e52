import torch.nn as nn


class Model(nn.Module):
    """One linear map from the input window to the forecast, per channel."""

    def __init__(self, configs):
        super().__init__()
        self.Linear = nn.Linear(configs.seq_len, configs.pred_len)

    def forward(self, x):
        return self.Linear(x.permute(0, 2, 1)).permute(0, 2, 1)

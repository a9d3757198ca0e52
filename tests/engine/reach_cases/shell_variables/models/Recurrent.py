import torch.nn as nn


class Model(nn.Module):
    def __init__(self, configs):
        super().__init__()
        self.rnn = nn.GRU(configs.enc_in, 32, batch_first=True)
        self.head = nn.Linear(32, configs.enc_in)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out)

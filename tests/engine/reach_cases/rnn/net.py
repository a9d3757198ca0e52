import torch.nn as nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(10, 20, batch_first=True)
        self.out = nn.Linear(20, 5)

    def forward(self, x):
        output, _ = self.lstm(x)
        return self.out(output)

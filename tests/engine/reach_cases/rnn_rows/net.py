import torch.nn as nn


class RowReader(nn.Module):
    """Reads a 28×28 image row by row, as the PyTorch MNIST-RNN example does."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(28, 16, batch_first=True)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = x.reshape(-1, 28, 28)
        output, _ = self.rnn(x)
        return self.fc(output[:, -1])

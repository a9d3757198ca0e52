import torch.nn as nn


class TextRNN(nn.Module):
    """Takes its hidden state first, then one-hot words batch-first: no guess from its first layer runs it."""

    def __init__(self, n_class=7, n_hidden=5):
        super().__init__()
        self.rnn = nn.RNN(input_size=n_class, hidden_size=n_hidden)
        self.W = nn.Linear(n_hidden, n_class)

    def forward(self, hidden, X):
        X = X.transpose(0, 1)
        outputs, hidden = self.rnn(X, hidden)
        return self.W(outputs[-1])

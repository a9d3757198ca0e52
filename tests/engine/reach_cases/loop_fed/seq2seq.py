import torch
import torch.nn as nn


class Seq2Seq(nn.Module):
    def __init__(self, n_class=11, n_hidden=16):
        super().__init__()
        self.encoder = nn.RNN(input_size=n_class, hidden_size=n_hidden)
        self.out = nn.Linear(n_hidden, n_class)

    def forward(self, enc_inputs, hidden):
        outputs, hidden = self.encoder(enc_inputs.transpose(0, 1), hidden)
        return self.out(outputs[-1])


if __name__ == "__main__":
    model = Seq2Seq()
    sentence = torch.eye(11)[torch.tensor([[1, 4, 2, 0, 0]])]   # one sentence of five one-hot words
    hidden = torch.zeros(1, 1, 16)
    for epoch in range(2000):
        output = model(sentence, hidden)

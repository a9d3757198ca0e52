import torch.nn as nn

from text.embedding import TokenEmbedding


class TextClassifier(nn.Module):
    def __init__(self, vocab_size, dim=32, classes=4):
        super().__init__()
        self.embed = TokenEmbedding(vocab_size, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, ids):
        return self.head(self.embed(ids).mean(1))

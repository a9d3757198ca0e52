import torch
from torch import nn


class Translator(nn.Module):
    def __init__(self, vocab_size, dimension):
        super().__init__()
        self.source_embedding = nn.Embedding(vocab_size, dimension)
        self.target_embedding = nn.Embedding(vocab_size, dimension)
        self.mix = nn.Linear(dimension, dimension)
        self.out = nn.Linear(dimension, vocab_size)

    def forward(self, source_ids, target_ids, source_mask, target_mask):
        source = self.source_embedding(source_ids)
        if source_mask is not None:
            source = source * source_mask
        target = self.target_embedding(target_ids) + self.mix(source).mean(1, keepdim=True)
        if target_mask is not None:
            target = target * target_mask
        return self.out(target)


if __name__ == "__main__":
    source_ids = torch.randint(1, 10, size=(3, 5))
    target_ids = torch.randint(1, 10, size=(3, 7))
    translator = Translator(vocab_size=11, dimension=8)
    print(sum(p.numel() for p in translator.parameters()))
    out = translator(source_ids, target_ids, source_mask=None, target_mask=None)

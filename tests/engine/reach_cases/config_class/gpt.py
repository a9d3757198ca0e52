from dataclasses import dataclass

import torch.nn as nn


@dataclass
class GPTConfig:
    vocab_size: int = 100
    n_embd: int = 16


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size)

    def forward(self, idx):
        return self.head(self.wte(idx))

import torch.nn as nn


class CfgNode:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)


class GPT(nn.Module):
    @staticmethod
    def get_default_config():
        return CfgNode(model_type="gpt", n_embd=None, vocab_size=None, block_size=None)

    def __init__(self, config):
        super().__init__()
        assert config.vocab_size is not None and config.block_size is not None
        self.block_size = config.block_size
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size)

    def forward(self, idx):
        assert idx.size(1) <= self.block_size, "sequence longer than the block size"
        return self.head(self.wte(idx))

import torch


def causal_mask(length):
    """Positions may attend to themselves and the past."""
    return torch.ones(length, length, dtype=torch.bool).triu(1)

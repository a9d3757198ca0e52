"""Bad input: a Python file with no nn.Module in it."""
import torch


def normalise(x: torch.Tensor) -> torch.Tensor:
    return (x - x.mean()) / x.std()

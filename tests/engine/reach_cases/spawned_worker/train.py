"""A distributed training script: the model is built only in the worker that torch.multiprocessing.spawn starts,
and its forward reduces across processes."""
import argparse

import torch
import torch.distributed
from torch import nn


class Twins(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(12, width), nn.ReLU(), nn.Linear(width, width))

    def forward(self, a, b):
        za, zb = self.encoder(a), self.encoder(b)
        c = za.T @ zb / a.shape[0]
        torch.distributed.all_reduce(c)   # summed over the processes' batches
        return (c - torch.eye(c.shape[0])).pow(2).sum()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", default=24, type=int)
    parser.add_argument("--gpus", default=8, type=int)
    args = parser.parse_args()
    torch.multiprocessing.spawn(main_worker, (args,), args.gpus)


def main_worker(gpu, args):
    torch.distributed.init_process_group("nccl", init_method="tcp://localhost:58472", world_size=args.gpus, rank=gpu)
    model = Twins(args.width).cuda(gpu)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(1000):
        raise RuntimeError("training")


if __name__ == "__main__":
    main()

import argparse

from torch import nn

from model import Projector

parser = argparse.ArgumentParser()
parser.add_argument("data", metavar="DIR", help="path to the dataset")
parser.add_argument("--dataset", required=True, choices=["cifar10", "stl10"])
parser.add_argument("--dim", type=int, default=32)
parser.add_argument("--device", default="cuda")


def main():
    args = parser.parse_args()
    width = {"cifar10": 8, "stl10": 12}[args.dataset]
    model = Projector(nn.Linear(width, 16), args.dim).to(args.device)
    return model


if __name__ == "__main__":
    main()

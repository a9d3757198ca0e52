import argparse

import models

parser = argparse.ArgumentParser()
parser.add_argument("--arch", "-a", default="resnext")
parser.add_argument("--depth", type=int, default=29)
parser.add_argument("--widen-factor", type=int, default=1)
parser.add_argument("--dataset", default="cifar10")
args = parser.parse_args()


def main():
    num_classes = 10 if args.dataset == "cifar10" else 100
    if args.arch.startswith("wrn"):
        model = models.__dict__[args.arch](num_classes=num_classes, depth=args.depth, widen_factor=args.widen_factor)
    else:
        model = models.__dict__[args.arch](num_classes=num_classes, depth=args.depth)
    train(model)


def train(model):
    raise RuntimeError("never run by archlint")


if __name__ == "__main__":
    main()

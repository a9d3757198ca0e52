import argparse
import os

from wideresnet import WideResNet

parser = argparse.ArgumentParser(description="PyTorch WideResNet Training")
parser.add_argument("--dataset", default="cifar10", type=str)
parser.add_argument("--layers", default=16, type=int)
parser.add_argument("--widen-factor", default=2, type=int)
parser.add_argument("--droprate", default=0, type=float)


def main():
    global args
    args = parser.parse_args()
    os.makedirs("runs/" + args.dataset, exist_ok=True)
    loader = open("data/cifar-10-batches-py/data_batch_1", "rb")
    model = WideResNet(args.layers, args.dataset == "cifar10" and 10 or 100, args.widen_factor,
                       dropRate=args.droprate)
    print(loader, model)


if __name__ == "__main__":
    main()

import argparse
import os

from net import Net


def parse_option():
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, required=True)
    args = parser.parse_args()
    args.local_rank = int(os.environ["LOCAL_RANK"])   # set by the launcher
    return args


if __name__ == "__main__":
    args = parse_option()
    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    model = Net(args.width)

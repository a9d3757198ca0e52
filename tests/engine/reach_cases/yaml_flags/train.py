import argparse

import yaml

from net import Net


def train(model, epochs):
    for _ in range(epochs):
        pass


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    with open("./config/config.yaml") as file:
        defaults = yaml.safe_load(file)
    for key, value in defaults.items():
        parser.add_argument(f"--{key}", default=value, type=type(value))
    args = parser.parse_args()
    model = Net(args.width, args.depth)
    train(model, args.epochs)

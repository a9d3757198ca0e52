"""A script that builds its model (and its loss) through a helper fed the parsed arguments as keywords."""
import argparse

import torch.nn as nn


class Net(nn.Module):
    def __init__(self, in_features, hidden, classes):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x):
        return self.body(x)


def setup_training(in_features, hidden, classes, label_smoothing=0.0):
    model = Net(in_features, hidden, classes)
    return model, nn.CrossEntropyLoss(label_smoothing=label_smoothing)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--in_features", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=48)
    parser.add_argument("--classes", type=int, default=5)
    args = parser.parse_args()
    model, loss = setup_training(**vars(args))
    return model, loss


if __name__ == "__main__":
    main()

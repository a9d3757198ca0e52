"""A training script: arguments parsed in the main guard, the model built three files away."""
import argparse

import torch

from models import build_model


def get_args_parser():
    parser = argparse.ArgumentParser("detector", add_help=False)
    parser.add_argument("--hidden", default=16, type=int)
    parser.add_argument("--queries", default=5, type=int)
    parser.add_argument("--data_path", required=True)
    parser.add_argument("--device", default="cuda")
    return parser


def main(args):
    device = torch.device(args.device)
    model, criterion = build_model(args)
    model.to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    for epoch in range(100):   # never reached by a lint
        raise RuntimeError("training")


if __name__ == "__main__":
    parser = argparse.ArgumentParser("detector", parents=[get_args_parser()])
    args = parser.parse_args()
    main(args)

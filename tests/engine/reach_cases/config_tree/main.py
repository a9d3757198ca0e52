import argparse
import os

import yaml

from runners.trainer import Trainer


def parse_args_and_config():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=str, required=True, help="the config file, in configs/")
    parser.add_argument("--exp", type=str, default="exp")
    args = parser.parse_args()
    os.makedirs(os.path.join(args.exp, "logs"), exist_ok=True)
    with open(os.path.join("configs", args.config)) as f:
        config = argparse.Namespace(**yaml.safe_load(f))
    return args, config


if __name__ == "__main__":
    args, config = parse_args_and_config()
    Trainer(args, config).train()

import argparse
import json

import dataloaders
import models


def get_instance(module, name, config, *args):
    return getattr(module, config[name]["type"])(*args, **config[name]["args"])


def main(config):
    train_loader = get_instance(dataloaders, "train_loader", config)
    model = get_instance(models, "arch", config, train_loader.dataset.num_classes)
    for epoch in range(100):
        model.train()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", default="config.json")
    args = parser.parse_args()
    config = json.load(open(args.config))
    main(config)

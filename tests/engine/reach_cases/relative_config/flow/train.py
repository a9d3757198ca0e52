import argparse
import json

import torch

from glow import Flow


def train(epochs, learning_rate):
    model = Flow(**flow_config)
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    for epoch in range(epochs):
        loss = model(torch.randn(4, 6, 100)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", type=str, help="JSON file for configuration")
    args = parser.parse_args()
    with open(args.config) as f:
        config = json.loads(f.read())
    train_config = config["train_config"]
    global flow_config
    flow_config = config["flow_config"]
    train(**train_config)

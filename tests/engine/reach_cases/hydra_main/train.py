"""A hydra application: the configuration is composed from conf/ and a config store the script fills."""
from dataclasses import dataclass

import hydra
from hydra.core.config_store import ConfigStore

from net import Net


@dataclass
class Optimiser:
    lr: float = 0.1


cs = ConfigStore.instance()
cs.store(group="optim", name="sgd", node=Optimiser)


@hydra.main(config_path="conf", config_name="config", version_base=None)
def main(cfg):
    model = Net(cfg.model.width, depth=cfg.model.depth)
    for step in range(cfg.steps):
        model.zero_grad()


if __name__ == "__main__":
    main()

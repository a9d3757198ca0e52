from data_loader import DataLoader
from parameter import get_parameters
from trainer import Trainer


def main(config):
    data = DataLoader(config.dataset, config.image_path)
    trainer = Trainer(data.loader(), config)
    trainer.train()


if __name__ == "__main__":
    main(get_parameters())

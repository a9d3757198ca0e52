import argparse

from model.generator import Generator
from utils.hparams import HParam

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-c", "--config", type=str, required=True, help="yaml file for configuration")
    parser.add_argument("-n", "--name", type=str, required=True, help="name of the run, for its logs")
    args = parser.parse_args()
    hp = HParam(args.config)
    model = Generator(hp.audio.n_mel_channels, hp.model.width)

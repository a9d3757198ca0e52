import argparse

from prep.prep import Frontend, load_config

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("config", type=str)
    args = parser.parse_args()
    config = load_config(args.config)
    frontend = Frontend(config)

import yaml

from settings import Settings

if __name__ == "__main__":
    with open("checkpoints/settings.yaml") as saved:   # written by training, not in the repository
        trained = yaml.safe_load(saved)
    model = Settings(trained["width"])

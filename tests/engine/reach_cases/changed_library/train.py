import yaml

from policy import Policy

if __name__ == "__main__":
    spaces = yaml.safe_load("observations: 4", yaml.SafeLoader)   # the loader positional: an older PyYAML
    policy = Policy(spaces["observations"])

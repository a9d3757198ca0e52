import yaml


class Dotdict(dict):
    __getattr__ = dict.__getitem__


def HParam(path):
    with open(path) as f:
        return Dotdict({k: Dotdict(v) for k, v in yaml.safe_load(f).items()})

"""Writes a freshly built TinyNet to a file; the width comes from a YAML string, read only if PyYAML is there."""
import torch

from net import TinyNet


def export(path):
    try:
        import yaml
    except ImportError:
        print("export needs PyYAML")
        return
    settings = yaml.safe_load("width: 12")
    net = TinyNet(settings["width"])
    torch.save(net, path)

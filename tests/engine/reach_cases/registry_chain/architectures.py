"""The detectors by name, as a config names them."""
from detector import Detector

ARCHITECTURES = {"Detector": Detector}


def build_model(cfg):
    architecture = ARCHITECTURES[cfg.arch]
    return architecture(cfg)

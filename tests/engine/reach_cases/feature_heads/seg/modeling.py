from torch import nn

from .parts import FeatureGetter, FeatureHead, Segmenter


def _stages(width):
    return {"stem": nn.Sequential(nn.Conv2d(3, width, 3, stride=2, padding=1), nn.ReLU()),
            "layer1": nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU()),
            "layer2": nn.Sequential(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.ReLU())}


def _segm(name, backbone_name, num_classes):
    width = int(backbone_name.split("_")[-1])
    backbone = FeatureGetter(_stages(width), {"layer1": "low_level", "layer2": "out"})
    head = FeatureHead(2 * width, width, num_classes)
    return Segmenter(backbone, head)


def _load_model(arch_type, backbone, num_classes):
    if backbone.startswith("tiny"):
        model = _segm(arch_type, backbone, num_classes)
    else:
        raise NotImplementedError
    return model


def segmenter_tiny(num_classes=4):
    return _load_model("plus", "tiny_8", num_classes)

import torch.nn as nn

cfgs = {"A": [8, "M", 16, "M"], "B": [8, 8, "M", 16, 16, "M"]}


def make_layers(cfg, batch_norm=False):
    layers, channels = [], 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += [nn.Conv2d(channels, v, 3, padding=1)]
            layers += [nn.BatchNorm2d(v), nn.ReLU()] if batch_norm else [nn.ReLU()]
            channels = v
    return nn.Sequential(*layers)


class VGG(nn.Module):
    def __init__(self, features, num_classes=10):
        super().__init__()
        self.features = features
        self.classifier = nn.Linear(16, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).mean((2, 3)))


def _vgg(arch, cfg, batch_norm, pretrained, **kwargs):
    model = VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)
    if pretrained:
        raise RuntimeError(f"would download the {arch} weights")
    return model


def vgg11(**kwargs):
    model = VGG(make_layers(cfgs["A"]), **kwargs)
    return model


def vgg11_bn(pretrained=False, **kwargs):
    return _vgg("vgg11_bn", "A", True, pretrained, **kwargs)


def train(epochs=1):
    model = vgg11()
    for _ in range(epochs):
        model.zero_grad()
        raise RuntimeError("a training loop is never run by archlint")
    return model

"""A model whose constructor takes parsed settings, built by name through an alternative constructor."""
from torch import nn

SETTINGS = {"tiny-b0": (2, 16), "tiny-b1": (3, 24)}


class TinyNet(nn.Module):
    def __init__(self, depth=None, width=None, num_classes=10):
        super().__init__()
        assert isinstance(depth, int), "depth should be an int"   # the defaults only mark "not given"
        layers = [nn.Conv2d(3, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 1):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))

    @classmethod
    def from_name(cls, name, **overrides):
        depth, width = SETTINGS[name]
        return cls(depth, width, **overrides)

    @classmethod
    def from_pretrained(cls, name):
        model = cls.from_name(name)
        model.load_state_dict(download(name))
        return model


def download(name):
    raise RuntimeError(f"no weights for {name} here")

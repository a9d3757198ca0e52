from torch import nn


class WideNet(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.layer = nn.Linear(4, width)

    def forward(self, x):
        return self.layer(x)


def publish(path):
    try:
        import archlint_fixture_absent_uploader as uploader
    except ImportError:
        return None
    net = WideNet(uploader.WIDTH)
    uploader.send(net, path)

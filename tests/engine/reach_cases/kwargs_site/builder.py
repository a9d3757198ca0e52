from model import Net


def build(*args, **kwargs):
    # its settings come as keywords: called bare, there are none and the defaults hold
    width = kwargs.get("width", 16)
    return Net(width)

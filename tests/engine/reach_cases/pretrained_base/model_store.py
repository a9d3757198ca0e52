import os


def get_model_file(name, root="~/.torch/models"):
    """The path of a backbone's weights, fetched into the cache folder when it is not there yet."""
    root = os.path.expanduser(root)
    path = os.path.join(root, name + ".pth")
    if not os.path.exists(path):
        os.makedirs(root, exist_ok=True)
        raise ValueError(f"Model file {path} is not found. Download it first.")
    return path

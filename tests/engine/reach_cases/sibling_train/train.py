import argparse

from pkg.unet import UNet


def get_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("--classes", "-c", type=int, default=2)
    parser.add_argument("--bilinear", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    args = get_args()
    model = UNet(n_channels=3, n_classes=args.classes, bilinear=args.bilinear)

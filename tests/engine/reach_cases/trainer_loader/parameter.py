import argparse


def get_parameters():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="faces", choices=["faces", "churches"])
    parser.add_argument("--image_path", default="./data")
    parser.add_argument("--imsize", type=int, default=32)
    parser.add_argument("--z_dim", type=int, default=16)
    parser.add_argument("--conv_dim", type=int, default=8)
    return parser.parse_args()

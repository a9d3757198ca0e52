import argparse

from models import Generator

parser = argparse.ArgumentParser()
parser.add_argument("--channels", type=int, default=3)
parser.add_argument("--img_height", type=int, default=64)
parser.add_argument("--img_width", type=int, default=64)
parser.add_argument("--n_blocks", type=int, default=2)
opt = parser.parse_args()

input_shape = (opt.channels, opt.img_height, opt.img_width)
G = Generator(input_shape, opt.n_blocks)

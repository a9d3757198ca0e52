from absl import app, flags

from model import Denoiser

FLAGS = flags.FLAGS
flags.DEFINE_integer("T", 100, help="diffusion steps")
flags.DEFINE_integer("ch", 8, help="base channels")


def train():
    net = Denoiser(T=FLAGS.T, ch=FLAGS.ch)
    return net


def main(argv):
    train()


if __name__ == "__main__":
    app.run(main)

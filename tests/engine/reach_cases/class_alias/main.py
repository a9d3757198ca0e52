import argparse

from exp.forecast import ExpForecast
from models import Smoother

parser = argparse.ArgumentParser()
parser.add_argument("--enc_in", type=int, default=7)
parser.add_argument("--d_model", type=int, default=16)
parser.add_argument("--out_len", type=int, default=4)
args = parser.parse_args()

Exp = ExpForecast
Filter = Smoother
smoother = Filter(args.enc_in)

for run in range(2):
    exp = Exp(args)
    exp.train([])

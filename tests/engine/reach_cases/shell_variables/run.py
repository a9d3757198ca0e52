import argparse

from exp import Exp

parser = argparse.ArgumentParser()
parser.add_argument("--model", type=str, required=True)
parser.add_argument("--seq_len", type=int, default=96)
parser.add_argument("--pred_len", type=int, default=24)
parser.add_argument("--enc_in", type=int, default=7)
args = parser.parse_args()

exp = Exp(args)
exp.train([])

import argparse

from exp.exp_classify import ExpClassify
from exp.exp_forecast import ExpForecast

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="forecast")
    parser.add_argument("--model", default="Linear")
    parser.add_argument("--seq_len", type=int, default=96)
    parser.add_argument("--pred_len", type=int, default=24)
    args = parser.parse_args()
    if args.task == "forecast":
        Exp = ExpForecast
    else:
        Exp = ExpClassify
    exp = Exp(args)

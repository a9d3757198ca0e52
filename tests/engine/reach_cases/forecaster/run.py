import argparse

from exp.exp_forecast import ExpForecast

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="forecast a multivariate series")
    parser.add_argument("--model", default="Former")
    parser.add_argument("--seq_len", type=int, default=48, help="input window")
    parser.add_argument("--label_len", type=int, default=24, help="steps of the window the decoder starts from")
    parser.add_argument("--pred_len", type=int, default=12, help="forecast horizon")
    parser.add_argument("--enc_in", type=int, default=5, help="variables of the series")
    parser.add_argument("--d_model", type=int, default=16)
    parser.add_argument("--freq", default="h", help="h: hourly time features, d: daily")
    args = parser.parse_args()
    exp = ExpForecast(args)

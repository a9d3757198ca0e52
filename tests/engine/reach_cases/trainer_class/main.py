import argparse

from experiments.forecast import ForecastExperiment
from solver import Solver

parser = argparse.ArgumentParser()
parser.add_argument("--data", default="data/series.csv")
parser.add_argument("--features", type=int, default=7)
parser.add_argument("--hidden", type=int, default=48)
parser.add_argument("--depth", type=int, default=3)
parser.add_argument("--outputs", type=int, default=2)
parser.add_argument("--lr", type=float, default=1e-3)
args = parser.parse_args()

if __name__ == "__main__":
    loader = open(args.data).readlines()   # the data folder is not in the repository
    solver = Solver(loader, args)
    experiment = ForecastExperiment(args)
    solver.train()

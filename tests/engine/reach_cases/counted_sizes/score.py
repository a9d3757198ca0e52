import argparse
import pickle

from graph import EdgeScorer

parser = argparse.ArgumentParser()
parser.add_argument("--data_pkl", default="data/graph.pkl")
parser.add_argument("--dim", type=int, default=12)
opt = parser.parse_args()

graph = pickle.load(open(opt.data_pkl, "rb"))
opt.n_nodes = len(graph["nodes"])
scorer = EdgeScorer(opt.n_nodes, opt.dim)

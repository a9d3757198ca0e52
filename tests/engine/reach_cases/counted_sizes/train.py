import argparse

import numpy as np
import torch

from graph import NodeClassifier

parser = argparse.ArgumentParser()
parser.add_argument("--hidden", type=int, default=16)
args = parser.parse_args()


def load_data(path="data/citations/"):
    table = np.loadtxt(path + "nodes.content", dtype=str)
    features = torch.tensor(table[:, 1:-1].astype(np.float32))
    labels = torch.tensor(np.unique(table[:, -1], return_inverse=True)[1])
    return features, labels


features, labels = load_data()
model = NodeClassifier(nfeat=features.shape[1], nhid=args.hidden, nclass=labels.max().item() + 1)

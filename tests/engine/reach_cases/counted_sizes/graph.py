import torch.nn as nn
import torch.nn.functional as F


class NodeClassifier(nn.Module):
    def __init__(self, nfeat, nhid, nclass):
        super().__init__()
        self.hidden = nn.Linear(nfeat, nhid)
        self.out = nn.Linear(nhid, nclass)

    def forward(self, x):
        return F.log_softmax(self.out(F.relu(self.hidden(x))), dim=1)


class EdgeScorer(nn.Module):
    def __init__(self, n_nodes, dim):
        super().__init__()
        self.nodes = nn.Embedding(n_nodes, dim)
        self.score = nn.Linear(dim, 1)

    def forward(self, pairs):
        return self.score(self.nodes(pairs).prod(dim=1))

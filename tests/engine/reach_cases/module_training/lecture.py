"""A character model trained at module level, lecture style: no main guard."""
import torch
import torch.nn as nn
from torch.nn import functional as F

context = 16
width = 32
steps = 5000
torch.manual_seed(1)

with open("story.txt", encoding="utf-8") as handle:
    text = handle.read()
alphabet = sorted(set(text))
vocab = len(alphabet)
index = {c: i for i, c in enumerate(alphabet)}
data = torch.tensor([index[c] for c in text], dtype=torch.long)


def batch(size=8):
    starts = torch.randint(len(data) - context - 1, (size,))
    return (torch.stack([data[s:s + context] for s in starts]),
            torch.stack([data[s + 1:s + context + 1] for s in starts]))


class CharModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(context, width)
        self.mix = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, width), nn.GELU())
        self.head = nn.Linear(width, vocab)

    def forward(self, ids):
        length = ids.shape[1]
        x = self.tokens(ids) + self.positions(torch.arange(length))
        return self.head(x + self.mix(x))


model = CharModel()
same_model = model.to("cpu")
optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
for step in range(steps):
    inputs, targets = batch()
    loss = F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
print(f"final loss {loss.item():.3f}")


def sample(net, length):
    ids = torch.zeros((1, 1), dtype=torch.long)
    for _ in range(length):
        ids = torch.cat([ids, net(ids[:, -context:])[:, -1:].argmax(-1)], dim=1)
    return ids


print(sample(same_model, 10**9))      # the trained model's use: takes hours, and building it does not need it

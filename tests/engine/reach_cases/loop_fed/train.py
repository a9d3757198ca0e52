import torch

from model import TextRNN

batch = torch.eye(7)[torch.tensor([[0, 1], [2, 3], [4, 5]])]   # three pairs of one-hot words
model = TextRNN()
optimizer = torch.optim.Adam(model.parameters(), lr=0.001)
for epoch in range(5000):
    optimizer.zero_grad()
    hidden = torch.zeros(1, 3, 5)
    output = model(hidden, batch)
    output.sum().backward()
    optimizer.step()

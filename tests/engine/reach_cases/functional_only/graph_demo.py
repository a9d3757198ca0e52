"""A module of functional ops only, as in tutorials of torch.fx: no layer says what input it takes."""
import torch


class Blend(torch.nn.Module):
    def forward(self, x, y):
        return torch.relu(x) * torch.sigmoid(y) + x.mean(dim=-1, keepdim=True)


if __name__ == "__main__":
    x, y = torch.randn(6, 3, 2), torch.randn(6, 3, 2)
    print(Blend()(x, y).shape)

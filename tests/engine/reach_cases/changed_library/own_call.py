from torch import nn


def widths(base):
    return [base, base * 2]


class OwnCall(nn.Module):
    """Calls a function of its own with an argument too many: the code's mistake, not a library's version."""

    def __init__(self):
        super().__init__()
        first, second = widths(8, 2)
        self.fc = nn.Linear(first, second)

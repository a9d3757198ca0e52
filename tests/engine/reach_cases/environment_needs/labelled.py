from torch import nn

# the author's dataset, at an absolute path of the author's machine
with open("/archlint-fixture-data/coco/labels.txt") as labels:
    CLASSES = labels.read().split()


class Detector(nn.Module):
    def __init__(self):
        super().__init__()
        self.head = nn.Linear(8, len(CLASSES))

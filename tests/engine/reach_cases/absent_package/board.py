# A logger built on a package this machine does not have: the models of model.py never use it.
from experiment_tracker import SummaryWriter
import experiment_tracker.plots as plots


class Board:
    def __init__(self, folder):
        self.writer = SummaryWriter(folder)

    def curve(self, values):
        plots.line(values)

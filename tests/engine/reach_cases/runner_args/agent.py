import copy

from network import QNet


class DQN:
    def __init__(self, args):
        self.net = QNet(args)
        self.target_net = copy.deepcopy(self.net)

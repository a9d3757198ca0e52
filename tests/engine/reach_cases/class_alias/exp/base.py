class ExpBase:
    def __init__(self, args):
        self.args = args
        self.model = self._build_model()

    def _build_model(self):
        raise NotImplementedError

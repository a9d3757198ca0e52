class Experiment:
    """Keeps the parsed arguments and builds the model the subclass says."""

    def __init__(self, args):
        self.args = args
        self.device = "cpu"
        self.model = self._build_model()

    def _build_model(self):
        raise NotImplementedError

from experiments.base import Experiment
from nets import Encoder


class ForecastExperiment(Experiment):
    def _build_model(self):
        model = Encoder(self.args.features, self.args.hidden, self.args.depth)
        return model.to(self.device)

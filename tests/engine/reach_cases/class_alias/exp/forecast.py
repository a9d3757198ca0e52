from exp.base import ExpBase
from models import Forecaster


class ExpForecast(ExpBase):
    def __init__(self, args):
        super(ExpForecast, self).__init__(args)

    def _build_model(self):
        return Forecaster(self.args.enc_in, self.args.d_model, self.args.out_len)

    def train(self, loader):
        for x, y in loader:
            loss = ((self.model(x) - y) ** 2).mean()
            loss.backward()

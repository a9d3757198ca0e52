from exp.exp_basic import ExpBasic


class ExpForecast(ExpBasic):
    def _build_model(self):
        return self.model_dict[self.args.model](self.args).float()

from exp.exp_basic import ExpBasic


class ExpClassify(ExpBasic):
    def __init__(self, args):
        super().__init__(args)

    def _build_model(self):
        return self.model_dict[self.args.model](self.args)

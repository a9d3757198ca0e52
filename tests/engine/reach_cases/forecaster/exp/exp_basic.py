import importlib
import os


class ExpBasic:
    def __init__(self, args):
        self.args = args
        # the models folder, relative to where run.py is run from; a missing folder is an empty zoo
        self.model_dict = {}
        if os.path.isdir("models"):
            for name in os.listdir("models"):
                if name.endswith(".py") and name != "__init__.py":
                    self.model_dict[name[:-3]] = importlib.import_module(f"models.{name[:-3]}").Model
        self.model = self._build_model()

    def _build_model(self):
        raise NotImplementedError

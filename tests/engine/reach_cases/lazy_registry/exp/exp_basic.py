import importlib
import os


class LazyModels(dict):
    """The models folder's files by name, each imported when it is first asked for."""

    def __init__(self, folder):
        super().__init__()
        self.names = {f[:-3] for f in os.listdir(folder) if f.endswith(".py") and f != "__init__.py"}

    def __missing__(self, name):
        if name not in self.names:
            raise KeyError(name)
        self[name] = importlib.import_module(f"models.{name}").Model
        return self[name]


class ExpBasic:
    def __init__(self, args):
        self.args = args
        self.model_dict = LazyModels(os.path.join(os.path.dirname(__file__), "..", "models"))
        self.model = self._build_model()

    def _build_model(self):
        raise NotImplementedError

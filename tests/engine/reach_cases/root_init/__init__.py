"""Left over from when the repository was a package of another project: the module it names is gone."""
from . import layers_gone

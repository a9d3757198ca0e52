from .resnext import *
from .wrn import *

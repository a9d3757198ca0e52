from .norm import ChannelNorm
from .residual import Residual

from .segnet import SegNet
from .tiny import TinyNet

from .unet import Unet
from .gaussian import GaussianDiffusion

import sys
import warnings

import torchvision

# compares version strings as text: "0.29.1" < "0.3.0", so a new torchvision is taken for an old one
if torchvision.__version__ >= "0.3.0":
    nms = torchvision.ops.nms
else:
    warnings.warn("No NMS is available. Please upgrade torchvision to 0.3.0+")
    sys.exit(-1)

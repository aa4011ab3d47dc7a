"""deepdreamport: MATLAB's ``deepDreamImage`` on ONNX networks, computed by PyTorch.

Front doors: :func:`deepDreamImage` (MATLAB drop-in, 1-based channels, H×W×C×K),
:func:`deep_dream_image` (Python API, 0-based channels, K×H×W×C) and the
``deepdream`` command; :func:`rng` seeds the MATLAB-compatible global stream.
"""

from .activations import activations
from .api import deep_dream_image, deepDreamImage
from .errors import DeepDreamError
from .network import VisualNetwork
from .rng import rng

__all__ = ["DeepDreamError", "VisualNetwork", "activations", "deepDreamImage", "deep_dream_image", "rng"]

__version__ = "0.1.0"

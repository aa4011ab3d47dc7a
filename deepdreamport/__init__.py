"""deepdreamport: MATLAB's ``deepDreamImage`` on ONNX networks, computed by PyTorch."""

from .errors import DeepDreamError
from .network import VisualNetwork
from .rng import rng

__all__ = ["DeepDreamError", "VisualNetwork", "rng"]
__version__ = "0.1.0"

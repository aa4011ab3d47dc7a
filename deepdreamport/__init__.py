"""deepdreamport: MATLAB's ``deepDreamImage`` on ONNX and torch networks, computed by PyTorch.

The public API is what ``__all__`` lists:

- :func:`deepDreamImage` — the MATLAB drop-in (1-based channels, H×W×C×K);
- :func:`deep_dream_image` — the Python API (0-based channels, K×H×W×C);
- :func:`rng` — MATLAB's ``rng(seed)`` for the global random stream;
- :func:`activations` — MATLAB's ``activations(net, X, layer)``;
- :func:`load_network` — load an ONNX file or wrap an ``nn.Module`` once, dream many times
  (an :class:`OnnxNetwork` or a :class:`TorchNetwork`, MATLAB's ``net``);
- :class:`VisualNetwork` — MATLAB's visual network: ``net.truncated(layer)``, the
  network up to a layer with the channel objective;
- :func:`format_layer_table` — MATLAB's ``net.Layers`` as text;
- :func:`montage` — MATLAB's ``imtile`` of K×H×W×C images, as a Pillow image;
- :class:`DeepDreamError` — bad input, with MATLAB's identifier.

Layers of the package (each imports only those below it): ``doors`` → ``matlab``
→ ``nets`` → ``onnx`` → ``core``.
"""

from ._version import __version__ as __version__
from .doors.files import montage
from .doors.matlab import deepDreamImage
from .doors.python import deep_dream_image
from .errors import DeepDreamError
from .matlab.activations import activations
from .matlab.rng import rng
from .nets import OnnxNetwork, TorchNetwork, VisualNetwork, format_layer_table, load_network

__all__ = [
    "DeepDreamError",
    "OnnxNetwork",
    "TorchNetwork",
    "VisualNetwork",
    "activations",
    "deepDreamImage",
    "deep_dream_image",
    "format_layer_table",
    "load_network",
    "montage",
    "rng",
]

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
- :func:`imread`, :func:`imwrite` — MATLAB's ``imread`` (pixels in the file's class: H×W or
  H×W×3) and ``imwrite`` (single/double images in [0, 1] written as 8 bits);
- :func:`imtile`, :func:`montage` — MATLAB's ``imtile`` / ``montage`` of H×W×C×K arrays
  (``deepDreamImage``'s output) or lists of images, as an array;
- :class:`DeepDreamError` — bad input, with MATLAB's identifier.

Layers of the package (each imports only those below it): ``doors`` → ``matlab``
→ ``nets`` → ``onnx`` → ``core``.

The names load on first use (:mod:`._lazy`): ``import deepdreamport`` alone imports
no torch, so the ``deepdream`` command parses its arguments without it.
"""

from typing import TYPE_CHECKING

from ._lazy import lazy_exports
from ._version import __version__ as __version__

if TYPE_CHECKING:  # the same names, for type checkers and import-linter; at run time they load on first use
    from .doors.files import imread, imwrite
    from .doors.files import matlab_montage as montage
    from .doors.matlab import deepDreamImage
    from .doors.python import deep_dream_image
    from .errors import DeepDreamError
    from .matlab.activations import activations
    from .matlab.rng import rng
    from .matlab.tiling import imtile
    from .nets import OnnxNetwork, TorchNetwork, VisualNetwork, format_layer_table, load_network

_EXPORTS = {
    "DeepDreamError": ".errors:DeepDreamError",
    "OnnxNetwork": ".nets:OnnxNetwork",
    "TorchNetwork": ".nets:TorchNetwork",
    "VisualNetwork": ".nets:VisualNetwork",
    "activations": ".matlab.activations:activations",
    "deepDreamImage": ".doors.matlab:deepDreamImage",
    "deep_dream_image": ".doors.python:deep_dream_image",
    "format_layer_table": ".nets:format_layer_table",
    "imread": ".doors.files:imread",
    "imwrite": ".doors.files:imwrite",
    "imtile": ".matlab.tiling:imtile",
    "load_network": ".nets:load_network",
    "montage": ".doors.files:matlab_montage",
    "rng": ".matlab.rng:rng",
}
__getattr__, __dir__ = lazy_exports(globals(), _EXPORTS)

__all__ = [
    "DeepDreamError",
    "OnnxNetwork",
    "TorchNetwork",
    "VisualNetwork",
    "activations",
    "deepDreamImage",
    "deep_dream_image",
    "format_layer_table",
    "imread",
    "imtile",
    "imwrite",
    "load_network",
    "montage",
    "rng",
]

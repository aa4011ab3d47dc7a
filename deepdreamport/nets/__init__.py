"""What MATLAB calls the network and the visual network.

:mod:`.base` (the :class:`DreamNetwork` protocol and MATLAB's
:class:`VisualNetwork`), :mod:`.onnx_net` and :mod:`.torch_net` (the two kinds
of network), :mod:`.layers` (``net.Layers``), :mod:`.receptive_field` (the
toolbox's rule), :mod:`.sizes` (which image sizes a truncation takes, by
probing), :mod:`.batch` (networks whose batch an export pinned to 1, run one image
per pass), :mod:`.tokens` (a transformer's token layers read as channel maps) and
:mod:`.load` (one way in for all of them).
"""

from .base import DreamNetwork, VisualNetwork
from .layers import Layer
from .load import NetworkLike, format_layer_table, load_network
from .onnx_net import OnnxNetwork
from .torch_net import TorchNetwork

__all__ = [
    "DreamNetwork",
    "Layer",
    "NetworkLike",
    "OnnxNetwork",
    "TorchNetwork",
    "VisualNetwork",
    "format_layer_table",
    "load_network",
]

"""The one place where the atlas reaches into the rest of deepdreamport.

The core package is being restructured; every import the atlas needs from it
lives here, so a rename touches this file only.
"""

from __future__ import annotations

from deepdreamport import DeepDreamError, __version__, deep_dream_image
from deepdreamport.cli import parse_channels, write_atomic
from deepdreamport.network import VisualNetwork

PACKAGE_VERSION = __version__


def load_network(model_path: str) -> VisualNetwork:
    """The network of an ONNX file, ready for ``deep_dream_image``."""
    return VisualNetwork.from_onnx(str(model_path))


def layer_rows(network: VisualNetwork) -> list:
    """The layer table: rows with ``.index`` (1-based), ``.name``, ``.type``, ``.output_size`` (H×W×C)."""
    return list(network.layers)


def layer_module(network: VisualNetwork, layer_name: str, tile_size=None):
    """``layer`` and its ancestors as a torch module (images N×C×H×W → activations), and its channel count."""
    truncated = network.truncated(layer_name, tile_size)
    return truncated.module, truncated.num_channels


def input_size(network: VisualNetwork) -> int:
    """The square tile size the network is fed (its input height/width)."""
    return network.tile_size()


__all__ = [
    "DeepDreamError",
    "PACKAGE_VERSION",
    "deep_dream_image",
    "input_size",
    "layer_module",
    "layer_rows",
    "load_network",
    "parse_channels",
    "write_atomic",
]

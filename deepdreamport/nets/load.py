"""One way in for every kind of network: ONNX sources, loaded networks, torch modules.

Mirrors how MATLAB's functions accept ``net``: whatever the caller has (a file,
an ``onnx.ModelProto``, a network loaded once and reused, or, an extension, a
torch ``nn.Module``) becomes a :class:`~.base.DreamNetwork`.
"""

from __future__ import annotations

from typing import Any, Optional, Union

import torch

from ..onnx.read import OnnxSource
from .base import DreamNetwork
from .layers import format_layers
from .onnx_net import CONSTANT_WEIGHTS_NOTE, OnnxNetwork
from .torch_net import TorchNetwork

NetworkLike = Union[DreamNetwork, OnnxSource, torch.nn.Module]


def load_network(net: Any, input_channels: Optional[int] = None) -> DreamNetwork:
    """A :class:`~.base.DreamNetwork` from a network, an ONNX path/bytes/proto or an ``nn.Module``.

    ``input_channels`` is only used for an ``nn.Module`` without a ``Conv2d``.
    """
    if isinstance(net, (OnnxNetwork, TorchNetwork)):
        return net
    if isinstance(net, torch.nn.Module):
        return TorchNetwork(net, input_channels=input_channels)
    return OnnxNetwork.from_onnx(net)


MATLAB_ROWS_NOTE = (
    "MATLAB layer: the layer of MATLAB's net.Layers each row comes from, by the exporter's names; row numbers of an "
    "exported network can differ from MATLAB's indices (MATLAB also lists its output layer, such as classoutput, which "
    "ONNX does not hold), so name layers rather than numbering them"
)


def format_layer_table(net: Union[OnnxNetwork, OnnxSource]) -> str:
    """The printable layer table (MATLAB's ``net.Layers``) of an ONNX network or source, and its notes: the
    ``MATLAB layer`` column of a network MATLAB exported, weights that are one value repeated."""
    network = net if isinstance(net, OnnxNetwork) else OnnxNetwork.from_onnx(net)
    notes = [MATLAB_ROWS_NOTE] if any(layer.matlab_index for layer in network.layers) else []
    notes += [CONSTANT_WEIGHTS_NOTE] if network.constant_weights else []
    return "\n\n".join([format_layers(network.layers), *notes])

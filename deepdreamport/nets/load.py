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
from .onnx_net import OnnxNetwork
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


def format_layer_table(net: Union[OnnxNetwork, OnnxSource]) -> str:
    """The printable layer table (MATLAB's ``net.Layers``) of an ONNX network or source."""
    network = net if isinstance(net, OnnxNetwork) else OnnxNetwork.from_onnx(net)
    return format_layers(network.layers)

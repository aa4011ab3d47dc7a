"""What the atlas takes from the rest of deepdreamport: networks, their layer table, the dream, files.

Kept in one module so that the atlas names the port's pieces the same way
everywhere (``load_network``, ``layer_rows``, ``layer_module``).
"""

from __future__ import annotations

from typing import Sequence

import torch

from .._version import __version__ as PACKAGE_VERSION
from ..dependencies import missing_dependency, require
from ..doors.commands import parse_channels
from ..doors.numbering import layer_from_text
from ..doors.outputs import check_output_folder, write_atomic
from ..doors.python import deep_dream_image
from ..doors.signals import HANDLED, Terminated, interrupt_status, terminate_as_interrupt
from ..errors import DeepDreamError
from ..nets import OnnxNetwork
from ..nets.batch import one_image_per_pass
from ..nets.layout import CHANNELS, as_channel_map
from ..nets.sizes import SizeProbe
from ..nets.tokens import tokens_as_channels
from ..onnx.convert import to_torch
from ..onnx.graph import extract_subgraph
from ..onnx.read import check_onnx_path


def load_network(model_path: str) -> OnnxNetwork:
    """The network of an ONNX file, ready for ``deep_dream_image``."""
    return OnnxNetwork.from_onnx(str(model_path))


def layer_rows(network: OnnxNetwork) -> list:
    """The layer table: rows with ``.index`` (1-based), ``.name``, ``.type``, ``.output`` (tensor),
    ``.output_size`` (H×W×C) and ``.receptive_field`` (H, W)."""
    return list(network.layers)


class TokenMap(torch.nn.Module):
    """A 3-D layer's module whose output comes out as the channel map render reads (:mod:`deepdreamport.nets.layout`):
    a token layer's N×T×F as N×F×h×w (or N×F×T), a 1-D convolution's N×C×L as N×C×1×L."""

    def __init__(self, module: torch.nn.Module, layer: str, layout: str = "tokens"):
        super().__init__()
        self.module = module
        self.layer = layer
        self.layout = layout

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return as_channel_map(self.module(images), self.layer, self.layout, len(images))


class ChannelsFirstMaps(torch.nn.Module):
    """Several outputs of a module, those whose ``layouts`` are ``channels`` (N×C×L) as N×C×1×L; the rest unchanged
    (a token layer's N×T×F is read by the examples' scoring, :mod:`.examples.scoring`)."""

    def __init__(self, module: torch.nn.Module, layouts: Sequence[str]):
        super().__init__()
        self.module = module
        self.layouts = tuple(layouts)

    def forward(self, images: torch.Tensor):
        outputs = self.module(images)
        single = isinstance(outputs, torch.Tensor)
        outputs = (outputs,) if single else tuple(outputs)
        outputs = tuple(
            output[:, :, None, :] if layout == CHANNELS and output.dim() == 3 else output
            for output, layout in zip(outputs, self.layouts)
        )
        return outputs[0] if single else outputs


def token_layer_row(network: OnnxNetwork, layer_name: str):
    """The layer-table row of ``layer_name`` when its output is 3-D (a token layer, N×T×F shown T×F, or a 1-D
    convolution's N×C×L shown 1×L×C: the rows with a ``layout``), else ``None``."""
    row = next((row for row in network.layers if row.name == layer_name), None)
    if row is None:
        return None
    return row if row.layout or (not row.output_shape and len(row.output_size) == 2) else None


def examples_module(network: OnnxNetwork, outputs: Sequence[str]) -> torch.nn.Module:
    """:func:`outputs_module` with 1-D convolutions' N×C×L outputs as N×C×1×L (:class:`ChannelsFirstMaps`)."""
    layouts = {row.output: row.layout for row in network.layers}
    module = outputs_module(network, outputs)
    if CHANNELS not in (layouts.get(output) for output in outputs):
        return module
    return ChannelsFirstMaps(module, [layouts.get(output, "") for output in outputs])


def layer_module(network: OnnxNetwork, layer_name: str, tile_size=None):
    """``layer`` and its ancestors as a torch module (images N×C×H×W → activations), and its channel count.

    A 3-D layer (which the deep-dream doors refuse) is its subgraph with the output read as channels
    (:class:`TokenMap`: a token layer's N×F×h×w, or N×F×T without a grid, its features the channels; a 1-D
    convolution's N×C×1×L).
    """
    row = token_layer_row(network, layer_name)
    if row is not None:
        module = TokenMap(outputs_module(network, [row.output]), layer_name, row.layout or "tokens")
        return module, int(row.output_size[-1])
    truncated = network.truncated(layer_name, tile_size)
    return truncated.module, truncated.num_channels


def outputs_module(network: OnnxNetwork, outputs: Sequence[str]):
    """The network up to several tensors at once, as one torch module returning one tensor per name."""
    return to_torch(extract_subgraph(network.model, network.input_name, list(outputs)))


def input_size(network: OnnxNetwork) -> int:
    """The square tile size the network is fed (its input height/width)."""
    return network.tile_size()


__all__ = [
    "HANDLED",
    "Terminated",
    "interrupt_status",
    "terminate_as_interrupt",
    "DeepDreamError",
    "PACKAGE_VERSION",
    "check_onnx_path",
    "check_output_folder",
    "deep_dream_image",
    "input_size",
    "layer_from_text",
    "layer_module",
    "layer_rows",
    "load_network",
    "missing_dependency",
    "one_image_per_pass",
    "outputs_module",
    "examples_module",
    "parse_channels",
    "SizeProbe",
    "TokenMap",
    "token_layer_row",
    "tokens_as_channels",
    "require",
    "write_atomic",
]

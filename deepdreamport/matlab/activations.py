"""``activations(net, X, layer)``: a layer's output for a batch of images.

Mirrors MATLAB's ``activations(net, X, layer)`` (Deep Learning Toolbox) with
its default ``OutputAs='channels'``: ``X`` is H×W×C×N (MATLAB layout, raw
input units; normalisation stays inside the network), ``layer`` a name or a
1-based index into ``net.layers``; the result is H'×W'×C'×N, and 1×1×C'×N for
a fully connected layer.

Deviations: runs in double precision when ``X`` is double and in single
otherwise (MATLAB always returns single); no ``MiniBatchSize`` option (one
batch); the last layer is allowed here, as in MATLAB's ``activations``.
MATLAB refuses images whose size differs from the input layer's; here such
images run through the layers as their operators allow (convolutions and
pooling take any size), with a :class:`UserWarning` saying so, and a layer that
needs the input layer's size (a fully connected layer after a flatten) gets a
``DeepDreamError`` naming both sizes.
"""

from __future__ import annotations

import warnings
from numbers import Integral
from typing import Optional, Union

import numpy as np
import torch

from ..errors import DeepDreamError, describe
from ..nets.onnx_net import OnnxNetwork
from ..onnx.convert import to_torch
from ..onnx.graph import extract_subgraph
from ..onnx.read import OnnxSource
from .layout import to_hwck, to_nchw


def activations(
    net: Union[OnnxNetwork, OnnxSource], X: np.ndarray, layer: Union[str, int], tile_size: Optional[int] = None
) -> np.ndarray:
    """Output of ``layer`` for images ``X`` (H×W×C×N), as H'×W'×C'×N."""
    network = net if isinstance(net, OnnxNetwork) else OnnxNetwork.from_onnx(net)
    X = np.asarray(X)
    if X.ndim not in (2, 3, 4) or not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise DeepDreamError(
            "nnet_cnn:activations:InvalidImages",
            f"X: expected a real H×W×C×N numeric array; got {describe(X)}.",
        )
    channels = X.shape[2] if X.ndim >= 3 else 1
    if channels != network.input_channels:
        raise DeepDreamError(
            "nnet_cnn:activations:InvalidImages",
            f"X: the network takes {network.input_channels} channels; got an array of shape {X.shape}.",
        )
    if isinstance(layer, (Integral, np.integer)) and not isinstance(layer, bool):
        count = len(network.layers)
        if not 1 <= int(layer) <= count:
            raise DeepDreamError(
                "nnet_cnn:activations:InvalidLayer", f"layer: index {layer} is out of range 1..{count}."
            )
        entry = network.layers[int(layer) - 1]
        output_name = entry.output
    else:
        output_name = network.resolve_layer(layer)
    height, width = X.shape[0], X.shape[1]
    expected = network.input_size
    other_size = None not in expected and (height, width) != tuple(expected)
    dtype = torch.float64 if X.dtype == np.float64 else torch.float32
    images = to_nchw(X.astype(np.float64 if dtype == torch.float64 else np.float32), dtype=dtype)
    if output_name == network.input_name:
        result = images
    else:
        module = to_torch(extract_subgraph(network.model, network.input_name, output_name)).to(dtype=dtype)
        try:
            with torch.no_grad():
                result = module(images)
        except RuntimeError:
            if not other_size:
                raise
            raise DeepDreamError(
                "nnet_cnn:activations:InvalidImageSize",
                f"X: the images are {height}×{width} but the input layer takes {expected[0]}×{expected[1]}, "
                f"and layer {layer!r} depends on that size (a fully connected layer); resize the images.",
            ) from None
        if isinstance(result, (tuple, list)):
            result = result[0]
        if other_size:
            warnings.warn(
                f"activations: the images are {height}×{width}, not the input layer's {expected[0]}×{expected[1]}; "
                f"MATLAB refuses them, here layer {layer!r} was computed on the {height}×{width} images as given.",
                UserWarning,
                stacklevel=2,
            )
    if result.dim() == 2:
        result = result[:, :, None, None]
    if result.dim() != 4:
        raise DeepDreamError(
            "deepdreamport:activations:LayerNotImageLike",
            f"layer: {layer!r} outputs a tensor of shape {tuple(result.shape)}; expected N×C×H×W or N×C.",
        )
    return to_hwck(result)

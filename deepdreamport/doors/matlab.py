"""The MATLAB door: ``I = deepDreamImage(net, layer, channels, Name, Value, ...)``.

Mirrors MATLAB's ``deepDreamImage``: 1-based channels, MATLAB's layer indices,
name-value options parsed as ``inputParser`` does
(:mod:`deepdreamport.matlab.options`), ``Verbose`` on by default (MATLAB's
table on stdout), the package-global random stream
(:func:`deepdreamport.matlab.rng.rng`), and an H×W×C×K float32 array (float64
with ``'Precision','double'``). It translates its arguments and calls
:func:`deepdreamport.doors.run.run_deep_dream`, the one implementation.

Deviation: a single image keeps its trailing K = 1 axis (MATLAB drops it); use
``I[..., 0]``.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

from ..core.loop import DreamSettings
from ..matlab import options as opts
from ..matlab.layout import to_hwck
from ..matlab.report import VerboseTable
from ..matlab.rng import resolve_stream
from ..nets.load import load_network
from .run import PRECISION_DTYPES, iteration_callback, resolve_device, run_deep_dream, scaled_images


def deepDreamImage(
    net: Any, layer: Union[str, int], channels: Any, *name_value_pairs: Any, **name_values: Any
) -> np.ndarray:
    """MATLAB's ``I = deepDreamImage(net, layer, channels, Name, Value, ...)`` or ``(..., Name=Value, ...)``.

    ``net``: path to an ONNX file, ``onnx.ModelProto`` or a loaded network.
    ``layer``: a layer name or MATLAB's 1-based index into the layer table.
    ``channels``: 1-based channel indices (scalar, list, range or numpy vector).
    Options: ``InitialImage``, ``NumIterations`` (10), ``PyramidLevels`` (3),
    ``PyramidScale`` (1.4), ``OutputScaling`` (``'linear'``), ``Verbose``
    (true), ``ExecutionEnvironment`` (``'auto'``), and the extensions
    ``Precision`` (``'single'``), ``RandomState`` (MATLAB's global stream),
    ``MaxBatch``, ``TileSize``, ``CheckMemory`` (true: refuse a run whose
    estimated memory exceeds what the device has), ``HostState`` (keep the
    images in host memory) and ``Compile`` (false: run the truncated network through
    ``torch.compile``, kept with ``net`` for later calls). Options are given as pairs
    (``'PyramidLevels', 1``), as keywords (``PyramidLevels=1``, MATLAB's R2021a syntax) or both,
    keywords last, with the same name matching. Returns an H×W×C×K numpy array.
    """
    layer = opts.layer_argument(layer)
    channels1 = opts.channel_list(channels, base=1)
    parsed = opts.parse_name_value(name_value_pairs, name_values)
    device = resolve_device(parsed.ExecutionEnvironment)
    dtype = PRECISION_DTYPES[parsed.Precision]
    network = load_network(net)
    settings = DreamSettings(
        parsed.NumIterations,
        parsed.PyramidLevels,
        parsed.PyramidScale,
        max_batch=parsed.MaxBatch,
        host_state=parsed.HostState,
    )
    table = VerboseTable() if parsed.Verbose else None
    result = run_deep_dream(
        network,
        layer,
        [c - 1 for c in channels1],
        initial_image=parsed.InitialImage,
        settings=settings,
        dtype=dtype,
        device=device,
        stream=resolve_stream(parsed.RandomState),
        tile_size=parsed.TileSize,
        on_iteration=iteration_callback(readers=[table]),
        memory_check=parsed.CheckMemory,
        compile=parsed.Compile,
    )
    if table is not None:
        table.finish()
    return to_hwck(scaled_images(result, parsed.OutputScaling))

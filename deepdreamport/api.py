"""The two front doors: MATLAB's ``deepDreamImage`` and the Pythonic ``deep_dream_image``.

Both translate their arguments and call :func:`deepdreamport.engine.run_deep_dream`,
the single implementation, so they give the same numbers.

- :func:`deepDreamImage` mirrors MATLAB's ``I = deepDreamImage(net, layer,
  channels, Name, Value, ...)``: 1-based channels, MATLAB's layer indices,
  name-value options parsed as ``inputParser`` does (:mod:`.options`),
  ``Verbose`` on by default (MATLAB's table on stdout), the package-global
  random stream (:func:`deepdreamport.rng.rng`), and an H×W×C×K float32 array
  (float64 with ``'Precision','double'``). Deviation: a single image keeps its
  trailing K = 1 axis (MATLAB drops it); use ``I[..., 0]``.
- :func:`deep_dream_image` is the Python API: keyword arguments, 0-based
  channels and layer indices, ONNX or a torch ``nn.Module``, a K×H×W×C array
  (one image per channel, ready for imaging libraries), an optional
  per-iteration callback and an optional tqdm progress bar.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import torch

from . import options as opts
from .dream import DreamResult, DreamSettings, scale_linear
from .engine import as_network, resolve_device, run_deep_dream
from .errors import DeepDreamError, describe
from .network import VisualNetwork
from .report import VerboseTable
from .rng import resolve_stream
from .torch_network import TorchVisualNetwork

_DTYPES = {"single": torch.float32, "double": torch.float64}


def load_network(net: Any, input_channels: Optional[int] = None):
    """A network object for the engine: ONNX path/bytes/proto, ``VisualNetwork`` or ``nn.Module``."""
    if isinstance(net, (VisualNetwork, TorchVisualNetwork)):
        return net
    if isinstance(net, torch.nn.Module):
        return TorchVisualNetwork(net, input_channels=input_channels)
    return as_network(net)


def _run(
    network,
    layer,
    channels0: Sequence[int],
    *,
    initial_image: Optional[np.ndarray],
    settings: DreamSettings,
    dtype: torch.dtype,
    device: torch.device,
    random_state: Any,
    tile_size: Optional[int],
    callbacks: Sequence[Callable[[int, int, float], None]],
) -> DreamResult:
    stream = resolve_stream(random_state)
    active = [c for c in callbacks if c is not None]

    def on_iteration(level: int, iteration: int, strength: float) -> None:
        for callback in active:
            callback(level, iteration, strength)

    return run_deep_dream(
        network,
        layer,
        channels0,
        initial_image=initial_image,
        settings=settings,
        dtype=dtype,
        device=device,
        stream=stream,
        tile_size=tile_size,
        on_iteration=on_iteration if active else None,
    )


def _finish(result: DreamResult, output_scaling: str) -> torch.Tensor:
    return scale_linear(result.images) if output_scaling == "linear" else result.images


def deepDreamImage(net: Any, layer: Union[str, int], channels: Any, *name_value_pairs: Any) -> np.ndarray:
    """MATLAB's ``I = deepDreamImage(net, layer, channels, Name, Value, ...)``.

    ``net``: path to an ONNX file, ``onnx.ModelProto`` or a loaded network.
    ``layer``: a layer name or MATLAB's 1-based index into the layer table.
    ``channels``: 1-based channel indices (scalar, list, range or numpy vector).
    Options: ``InitialImage``, ``NumIterations`` (10), ``PyramidLevels`` (3),
    ``PyramidScale`` (1.4), ``OutputScaling`` (``'linear'``), ``Verbose``
    (true), ``ExecutionEnvironment`` (``'auto'``), and the extensions
    ``Precision`` (``'single'``), ``RandomState`` (MATLAB's global stream),
    ``MaxBatch`` and ``TileSize``. Returns an H×W×C×K numpy array.
    """
    layer = opts.layer_argument(layer)
    channels1 = opts.channel_list(channels, base=1)
    parsed = opts.parse_name_value(name_value_pairs)
    device = resolve_device(parsed.ExecutionEnvironment)
    dtype = _DTYPES[parsed.Precision]
    network = load_network(net)
    settings = DreamSettings(parsed.NumIterations, parsed.PyramidLevels, parsed.PyramidScale, max_batch=parsed.MaxBatch)
    table = VerboseTable() if parsed.Verbose else None
    result = _run(
        network,
        layer,
        [c - 1 for c in channels1],
        initial_image=parsed.InitialImage,
        settings=settings,
        dtype=dtype,
        device=device,
        random_state=parsed.RandomState,
        tile_size=parsed.TileSize,
        callbacks=[table],
    )
    if table is not None:
        table.finish()
    return _finish(result, parsed.OutputScaling).detach().cpu().numpy().transpose(2, 3, 1, 0)


def _torch_dtype(dtype: Any) -> torch.dtype:
    if dtype in (torch.float32, torch.float64):
        return dtype
    try:
        kind = np.dtype(dtype)
    except TypeError:
        kind = None
    if kind == np.float32:
        return torch.float32
    if kind == np.float64:
        return torch.float64
    if isinstance(dtype, str) and dtype.lower() in _DTYPES:
        return _DTYPES[dtype.lower()]
    raise DeepDreamError(
        opts.FAILED, f"The value of 'dtype' is invalid. Expected torch.float32 or torch.float64; got {describe(dtype)}."
    )


def deep_dream_image(
    net: Any,
    layer: Union[str, int],
    channels: Any,
    *,
    initial_image: Optional[np.ndarray] = None,
    num_iterations: int = 10,
    pyramid_levels: int = 3,
    pyramid_scale: float = 1.4,
    output_scaling: str = "linear",
    verbose: bool = False,
    device: Union[str, torch.device] = "auto",
    dtype: Any = torch.float32,
    random_state: Any = None,
    max_batch: Optional[int] = None,
    tile_size: Optional[int] = None,
    input_channels: Optional[int] = None,
    callback: Optional[Callable[[int, int, float], None]] = None,
    progress: bool = False,
) -> np.ndarray:
    """Deep-dream images that maximise ``channels`` of ``layer``; returns K×H×W×C numpy.

    ``net``: ONNX path/bytes/``onnx.ModelProto``, a loaded ``VisualNetwork``, or
    a torch ``nn.Module`` (then ``layer`` is a ``named_modules()`` name, and
    ``tile_size`` and, if there is no ``Conv2d``, ``input_channels`` must be given).
    ``layer``: a name, or a 0-based index into the layer table.
    ``channels``: 0-based channel indices (scalar, sequence, range or numpy vector).
    ``initial_image``: H×W×C (default: noise of the layer's receptive-field size).
    ``random_state``: ``None`` (the package-global stream, see
    :func:`deepdreamport.rng`), a seed, or a ``numpy.random.RandomState``.
    ``callback(level, iteration, strength)`` is called after every iteration;
    ``progress`` shows a tqdm bar; ``verbose`` prints MATLAB's table.
    The defaults are MATLAB's except ``verbose``.
    """
    if isinstance(layer, (str, np.str_)):
        layer = opts.layer_argument(layer)
    else:
        layer = opts.layer_argument(_zero_based_index(layer))
    channels0 = opts.channel_list(channels, base=0)
    settings = DreamSettings(
        opts.positive_integer("num_iterations", num_iterations),
        opts.positive_integer("pyramid_levels", pyramid_levels),
        opts.scale_above_one("pyramid_scale", pyramid_scale),
        max_batch=opts.optional_positive_integer("max_batch", max_batch),
    )
    scaling = opts.validatestring("output_scaling", output_scaling, ("linear", "none"))
    show_table = opts.logical_scalar("verbose", verbose)
    if not isinstance(device, torch.device) and not str(device).lower().startswith("cuda:"):
        device = opts.validatestring("device", device, ("auto", "gpu", "cpu", "cuda"))
    torch_device = resolve_device(device)
    torch_dtype = _torch_dtype(dtype)
    random_state = opts.random_state("random_state", random_state)
    tile = opts.optional_positive_integer("tile_size", tile_size)
    image = opts.initial_image(initial_image)
    if callback is not None and not callable(callback):
        raise DeepDreamError(opts.FAILED, f"The value of 'callback' is invalid. Expected a callable; got {describe(callback)}.")
    network = load_network(net, input_channels=input_channels)

    table = VerboseTable() if show_table else None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=settings.num_iterations * settings.pyramid_levels, desc="deep dream", unit="it")
    try:
        result = _run(
            network,
            layer,
            channels0,
            initial_image=image,
            settings=settings,
            dtype=torch_dtype,
            device=torch_device,
            random_state=random_state,
            tile_size=tile,
            callbacks=[table, callback, (lambda *_: bar.update(1)) if bar is not None else None],
        )
    finally:
        if bar is not None:
            bar.close()
    if table is not None:
        table.finish()
    return _finish(result, scaling).detach().cpu().numpy().transpose(0, 2, 3, 1)


def _zero_based_index(layer: Any) -> Any:
    """0-based layer index → MATLAB's 1-based one (other values pass through to validation)."""
    number = opts._scalar_number(layer)
    if number is None or isinstance(number, complex) or not np.isfinite(number) or number != int(number) or number < 0:
        raise DeepDreamError(
            opts.BAD_LAYER,
            f"The value of 'layer' is invalid. Expected a layer name or a 0-based integer index; got {describe(layer)}.",
        )
    return int(number) + 1

"""The Python door: ``deep_dream_image``.

MATLAB's ``deepDreamImage`` with Python conventions: keyword arguments, 0-based
channels and layer indices, ONNX or a torch ``nn.Module``, a K×H×W×C array (one
image per channel, ready for imaging libraries), an optional per-iteration
callback and an optional tqdm progress bar. It translates its arguments and
calls :func:`deepdreamport.doors.run.run_deep_dream`, the one implementation,
so it gives the MATLAB door's numbers. The defaults are MATLAB's except
``verbose``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np
import torch
from tqdm.auto import tqdm

from ..core.loop import DreamSettings
from ..errors import DeepDreamError, describe
from ..matlab import options as opts
from ..matlab.layout import to_khwc
from ..matlab.report import VerboseTable
from ..matlab.rng import resolve_stream
from ..nets.load import load_network
from .images import DreamImages
from .run import PRECISION_DTYPES, iteration_callback, resolve_device, run_deep_dream, scaled_images


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
    if isinstance(dtype, str) and dtype.lower() in PRECISION_DTYPES:
        return PRECISION_DTYPES[dtype.lower()]
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
    host_state: bool = False,
    tile_size: Optional[int] = None,
    input_channels: Optional[int] = None,
    callback: Optional[Callable[[int, int, float], None]] = None,
    progress: Any = False,
    memory_check: bool = True,
    compile: bool = False,
) -> np.ndarray:
    """Deep-dream images that maximise ``channels`` of ``layer``; returns K×H×W×C numpy.

    ``net``: ONNX path/bytes/``onnx.ModelProto``, a network from
    :func:`deepdreamport.load_network`, or a torch ``nn.Module`` (then ``layer`` is a ``named_modules()`` name, and
    ``tile_size`` and, if there is no ``Conv2d``, ``input_channels`` must be given).
    ``layer``: a name, or a 0-based index into the layer table.
    ``channels``: 0-based channel indices (scalar, sequence, range or numpy vector).
    ``initial_image``: H×W×C (default: noise of the layer's receptive-field size).
    ``random_state``: ``None`` (the package-global stream, see
    :func:`deepdreamport.rng`), a seed, or a ``numpy.random.RandomState``.
    ``callback(level, iteration, strength)`` is called after every iteration
    (reading ``strength`` waits for the device each iteration);
    ``progress``: ``True`` shows a tqdm bar, or give a bar of your own
    (anything with ``update(n)``; it is not closed); ``verbose`` prints MATLAB's table.
    ``memory_check=False`` turns off the guard that refuses a run whose
    estimated memory exceeds what the device has (:mod:`deepdreamport.doors.guard`).
    ``host_state``: keep the K images in host memory and move one group at a time to the
    device (images larger than the device's memory; same numbers).
    ``compile``: run the truncated network through ``torch.compile`` (TorchInductor; needs a C++
    compiler on the CPU). It compiles on first use (tens of seconds on a small CPU) and is kept
    with ``net`` for later calls on the same layer, device and dtype: for repeated runs of one
    network loaded once with :func:`deepdreamport.load_network` (same numbers to rounding).
    The defaults are MATLAB's except ``verbose``.

    The array is a :class:`~deepdreamport.doors.images.DreamImages` (an ``np.ndarray`` subclass:
    everything arrays do works unchanged) that also saves itself (``.save("grid.png")``,
    ``.save("images.npy")``, ``.save_images(folder)``) and shows itself in Jupyter, one display
    range for all images (the values are not changed).
    """
    images = dream_images(base=0, **locals())
    return DreamImages(images, labels=_labels(layer, channels, images.shape[0]))


def _labels(layer: Union[str, int], channels: Any, count: int) -> Optional[list]:
    """``"LAYER ch C"`` per image (0-based, as given), when the channels are plain numbers."""
    try:
        numbers = [int(c) for c in np.atleast_1d(np.asarray(channels)).ravel()]
    except (TypeError, ValueError):
        return None
    return [f"{layer} ch {c}" for c in numbers] if len(numbers) == count else None


def dream_images(net: Any, layer: Union[str, int], channels: Any, *, base: int, **options: Any) -> np.ndarray:
    """:func:`deep_dream_image` with layer and channel indices counted from ``base`` (the command line: 1).

    Error messages count from ``base`` too. ``options`` are
    :func:`deep_dream_image`'s keywords, all of them.
    """
    return _dream(net, layer, channels, base, **options)


def _dream(
    net: Any,
    layer: Union[str, int],
    channels: Any,
    base: int,
    *,
    initial_image: Optional[np.ndarray],
    num_iterations: int,
    pyramid_levels: int,
    pyramid_scale: float,
    output_scaling: str,
    verbose: bool,
    device: Union[str, torch.device],
    dtype: Any,
    random_state: Any,
    max_batch: Optional[int],
    host_state: bool,
    tile_size: Optional[int],
    input_channels: Optional[int],
    callback: Optional[Callable[[int, int, float], None]],
    progress: Any,
    memory_check: bool,
    compile: bool,
) -> np.ndarray:
    layer = opts.layer_argument(layer) if isinstance(layer, (str, np.str_)) else _layer_index(layer, base)
    channels0 = [c - base for c in opts.channel_list(channels, base=base)]
    settings = DreamSettings(
        opts.positive_integer("num_iterations", num_iterations),
        opts.positive_integer("pyramid_levels", pyramid_levels),
        opts.scale_above_one("pyramid_scale", pyramid_scale),
        max_batch=opts.optional_positive_integer("max_batch", max_batch),
        host_state=opts.logical_scalar("host_state", host_state),
    )
    scaling = opts.validatestring("output_scaling", output_scaling, ("linear", "none"))
    show_table = opts.logical_scalar("verbose", verbose)
    if not isinstance(device, torch.device) and not _names_a_torch_device(device):
        device = opts.validatestring("device", device, ("auto", "gpu", "cpu", "cuda"))
    torch_device = resolve_device(device)
    torch_dtype = _torch_dtype(dtype)
    random_state = opts.random_state("random_state", random_state)
    tile = opts.optional_positive_integer("tile_size", tile_size)
    image = opts.initial_image(initial_image)
    check_memory = opts.logical_scalar("memory_check", memory_check)
    compiled = opts.logical_scalar("compile", compile)
    if callback is not None and not callable(callback):
        raise DeepDreamError(
            opts.FAILED, f"The value of 'callback' is invalid. Expected a callable; got {describe(callback)}."
        )
    network = load_network(net, input_channels=input_channels)

    table = VerboseTable() if show_table else None
    own_bar = progress is True
    bar = progress if hasattr(progress, "update") else None
    if own_bar:
        bar = tqdm(total=settings.num_iterations * settings.pyramid_levels, desc="deep dream", unit="it")
    try:
        result = run_deep_dream(
            network,
            layer,
            channels0,
            initial_image=image,
            settings=settings,
            dtype=torch_dtype,
            device=torch_device,
            stream=resolve_stream(random_state),
            tile_size=tile,
            on_iteration=iteration_callback(
                readers=[table, callback], tickers=[(lambda: bar.update(1)) if bar is not None else None]
            ),
            base=base,
            memory_check=check_memory,
            compile=compiled,
        )
    finally:
        if own_bar:
            bar.close()
    if table is not None:
        table.finish()
    return to_khwc(scaled_images(result, scaling))


def _layer_index(layer: Any, base: int) -> int:
    """A layer index counted from ``base`` (an integer scalar >= ``base``); other values are refused."""
    number = opts._scalar_number(layer)
    if (
        number is None
        or isinstance(number, complex)
        or not np.isfinite(number)
        or number != int(number)
        or number < base
    ):
        raise DeepDreamError(
            opts.BAD_LAYER,
            f"The value of 'layer' is invalid. Expected a layer name or a {base}-based integer index; "
            f"got {describe(layer)}.",
        )
    return int(number)


def _names_a_torch_device(device: Any) -> bool:
    """Whether ``device`` is a torch device string with a type other than MATLAB's names (``'cuda:0'``, ``'meta'``)."""
    if not isinstance(device, str) or device.lower() in ("auto", "gpu", "cpu", "cuda"):
        return False
    try:
        torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        return False
    return True

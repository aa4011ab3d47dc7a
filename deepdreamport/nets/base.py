"""What every deep-dream network offers, and MATLAB's visual network.

MATLAB's ``deepDreamImage`` takes a network ``net`` and builds from it a
*visual network*: the layers up to the chosen one, with an output layer that
maximises a channel (``nnet.internal.cnn.visualize``). Here:

* :class:`DreamNetwork` is ``net``: the protocol that ONNX networks
  (:class:`~.onnx_net.OnnxNetwork`) and torch modules
  (:class:`~.torch_net.TorchNetwork`) both satisfy;
* :class:`VisualNetwork` is MATLAB's visual network: the truncated module and
  the channel-average objective of :mod:`deepdreamport.core.objective`.

Deviation: releases up to R2019a ran the network in training mode inside
``deepDreamImage``; the port always runs it in inference mode.

Memory format (no MATLAB counterpart, same numbers to rounding): the truncated
module and its input tiles run in the layout :func:`preferred_memory_format`
picks for the device and dtype; the gradient comes back in the default layout,
where the Laplacian pyramid and the resize run.

Compilation (no MATLAB counterpart, opt-in): with :attr:`VisualNetwork.compile`
the gradient runs ``torch.compile(module)`` (TorchInductor), compiled on first
use for the module's device, dtype and layout and kept for later runs of the
same visual network (atlas jobs, batches of channels); the module itself is
never changed. Same numbers as eager to rounding (on the CPU inductor fuses the
elementwise operations and calls ATen's convolutions; checked against eager and
a MATLAB parity case in ``tests/nets/test_compile.py``).
"""

from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass, field
from typing import Iterable, Optional, Protocol, Union, runtime_checkable

import numpy as np
import torch

from ..core.objective import channel_objective_gradient
from ..errors import DeepDreamError
from .sizes import SizeProbe

InputSize = tuple[Optional[int], Optional[int]]
"""``(height, width)`` of the network input; ``None`` where it is dynamic."""


@dataclass
class VisualNetwork:
    """MATLAB's visual network: ``layer`` and its ancestors as a module, with the channel objective.

    ``owns_module`` is false for a caller's torch module: then :meth:`to` copies
    it before converting, so the caller's module is never changed.
    ``compile``: run :meth:`gradient` through ``torch.compile(module)`` (:meth:`runnable`).
    """

    layer: str
    output_name: str
    module: torch.nn.Module
    num_channels: int
    receptive_field: tuple[int, int]
    owns_module: bool = True
    memory_format: torch.memory_format = torch.contiguous_format
    input_shape: Optional[tuple[int, int, int]] = None  # C×H×W the layout is measured at (the network's input)
    convolution_macs: Optional[int] = None
    """Convolution multiply-adds on one ``input_shape`` image, counted by the probe that built this network
    (:func:`probe_truncation`): set only when the module ran at ``input_shape``, so that size works."""
    saved_elements: Optional[int] = None
    """Elements saved for the backward pass (and output) on one ``input_shape`` image, by the same probe:
    the memory guard's measurement, when it is made at that size (no second pass)."""
    _layout_choices: dict = field(default_factory=dict, repr=False)
    _size_probe: Optional[SizeProbe] = field(default=None, repr=False)
    compile: bool = False
    _compiled: Optional[torch.nn.Module] = field(default=None, repr=False)  # dropped by to() when it moves the module

    def size_probe(self, input_channels: int, reference: tuple[int, int]) -> SizeProbe:
        """The (cached) :class:`~.sizes.SizeProbe` of this truncation; ``reference`` is a size expected to work."""
        if self._size_probe is None or self._size_probe.reference != tuple(reference):
            probed = self.convolution_macs is not None and self.input_shape == (input_channels, *reference)
            self._size_probe = SizeProbe(
                self.module,
                input_channels,
                tuple(reference),  # type: ignore[arg-type]
                reference_works=probed,  # the build's probe ran it there: no second pass to find out
            )
        return self._size_probe

    def to(
        self, device: torch.device, dtype: torch.dtype, memory_format: Optional[torch.memory_format] = None
    ) -> "VisualNetwork":
        """Move the module to ``device``, ``dtype`` and ``memory_format`` (a copy first, when it is not ours).

        ``memory_format`` ``None`` is :func:`preferred_memory_format` for the device and dtype
        (decided once per device and dtype, at :attr:`input_shape`).
        """
        device = torch.device(device)
        on_target = all(
            t.device == device and (not t.is_floating_point() or t.dtype == dtype)
            for t in [*self.module.parameters(), *self.module.buffers()]
        )
        if memory_format is None:
            memory_format = self._layout_choices.get((device, dtype))
        if on_target and memory_format == self.memory_format:
            return self
        self._compiled = None  # compiled for the old device, dtype or layout
        if not self.owns_module:
            self.module = copy.deepcopy(self.module)
            self.owns_module = True
        self.module.to(device=device, dtype=dtype)
        if memory_format is None:
            memory_format = preferred_memory_format(
                self.module, self.input_shape, device, dtype, macs=self.convolution_macs
            )
            self._layout_choices[(device, dtype)] = memory_format
        self.module.to(memory_format=memory_format)  # 4-D weights only; a no-op for the others
        self.memory_format = memory_format
        if self._size_probe is not None:
            self._size_probe.module = self.module  # sizes do not depend on the device, dtype or layout
        return self

    def runnable(self) -> torch.nn.Module:
        """The module :meth:`gradient` runs: :attr:`module`, or with :attr:`compile` its ``torch.compile`` wrapper.

        The wrapper is made once per device, dtype and layout (:meth:`to` drops it when it
        moves the module) and compiles lazily: on its first call for each input shape
        (torch's automatic dynamic shapes take over from the second shape on). ``mode`` and
        ``backend`` are torch's defaults; no global torch setting is changed.
        """
        if not self.compile:
            return self.module
        if self._compiled is None:
            self._compiled = torch.compile(self.module)
        return self._compiled

    def gradient(self, images: torch.Tensor, channel_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The objective's input gradient (B×C×H×W) and activations (B): see :mod:`deepdreamport.core.objective`.

        With :attr:`compile`, a compilation that fails (no C++ compiler for inductor on the
        CPU, no Triton on CUDA) is one ``DeepDreamError`` naming torch's reason.
        """
        if not self.compile:
            return channel_objective_gradient(self.module, images, channel_index, self.memory_format)
        try:
            return channel_objective_gradient(self.runnable(), images, channel_index, self.memory_format)
        except torch._dynamo.exc.BackendCompilerFailed as exc:  # torch._dynamo is loaded once compile ran
            raise compile_error(self.layer, images.device, exc) from None


def compile_error(layer: str, device: torch.device, exc: Exception) -> DeepDreamError:
    """The one-line error for a ``torch.compile`` that could not build ``layer``'s network on ``device``."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    return DeepDreamError(
        "deepdreamport:deepDreamImage:CompileFailed",
        f"compile: torch.compile could not build layer {layer!r} on {device} ({reason[:300]}); "
        "install what it names (TorchInductor needs a working C++ compiler on the CPU and Triton on CUDA), "
        "or run without compile (Compile / compile / --compile).",
    )


CHANNELS_LAST_MIN_MACS = 5_000_000  # convolution multiply-adds per image from which channels_last pays


def preferred_memory_format(
    module: torch.nn.Module,
    input_shape: Optional[tuple[int, int, int]],
    device: torch.device,
    dtype: torch.dtype,
    macs: Optional[int] = None,
) -> torch.memory_format:
    """The layout the network runs in: ``channels_last`` for float32 networks with enough convolution work.

    A deterministic rule (a measured choice would make float32 numbers depend on the machine's
    load), from measurements on 2 CPU cores, torch 2.14.1, forward + backward, batch 8:

    * float64: always the default layout. ``channels_last`` was 2.0× slower for EfficientNet-Lite0
      (oneDNN has no float64 convolutions; cuDNN has no NHWC float64 kernels either).
    * float32 (and 16-bit): ``channels_last`` was 0.69× the default layout's time for the
      truncated EfficientNet-Lite0 at 224² (~200 M convolution multiply-adds per image) and
      0.62–0.67× for a four-convolution stack of 8–64 channels at 112² (12–140 M), but 8× slower
      for the parity networks at 32² (under 1 M), whose passes take milliseconds and are
      dominated by the layout's fixed costs. So ``channels_last`` from
      :data:`CHANNELS_LAST_MIN_MACS` multiply-adds per ``input_shape`` image (``macs`` when the
      caller counted them already, else counted on one no-gradient pass of a zero image); the
      default layout when ``input_shape`` is unknown.

    On CUDA the same rule (cuDNN's NHWC kernels are its fast path for 16/32-bit floats);
    ``benchmarks/gpu_check.sh`` measures it there (figure 6). The layout changes only the order
    of the convolutions' sums.

    Example:
        >>> conv = torch.nn.Conv2d(3, 64, 3, padding=1)  # 3·64·9 = 1728 multiply-adds per pixel
        >>> [preferred_memory_format(conv, (3, n, n), torch.device("cpu"), torch.float32) for n in (32, 64)]
        [torch.contiguous_format, torch.channels_last]
        >>> preferred_memory_format(conv, (3, 64, 64), torch.device("cpu"), torch.float64)
        torch.contiguous_format
    """
    if dtype == torch.float64 or input_shape is None:
        return torch.contiguous_format
    if macs is None:
        macs = convolution_macs(module, input_shape, device, dtype)
    return torch.channels_last if macs >= CHANNELS_LAST_MIN_MACS else torch.contiguous_format


def convolution_macs(
    module: torch.nn.Module, input_shape: tuple[int, int, int], device: torch.device, dtype: torch.dtype
) -> int:
    """Multiply-adds of the module's 2-D convolutions on one ``input_shape`` (C×H×W) image.

    Example:
        >>> convolution_macs(torch.nn.Conv2d(3, 8, 3), (3, 10, 10), torch.device("cpu"), torch.float32)
        13824
    """
    with counting_convolutions(module) as counted, torch.no_grad():
        module(torch.zeros((1, *input_shape), device=device, dtype=dtype))
    return counted[0]


@contextlib.contextmanager
def counting_convolutions(module: torch.nn.Module):
    """While open, count the multiply-adds of ``module``'s 2-D convolutions into the yielded one-item list.

    Forward hooks (a public API) on every ``nn.Conv2d``: output elements × (C_in/groups)·kh·kw each.
    """
    counted = [0]

    def count(layer: torch.nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        kernel = layer.weight.shape[1] * layer.weight.shape[2] * layer.weight.shape[3]  # (C_in/groups)·kh·kw
        counted[0] += int(output.numel()) * int(kernel)

    hooks = [m.register_forward_hook(count) for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    try:
        yield counted
    finally:
        for hook in hooks:
            hook.remove()


@contextlib.contextmanager
def counting_saved_elements(owned: Union[torch.nn.Module, Iterable[torch.Tensor]] = ()):
    """While open, count what autograd saves for the backward pass of the forwards run.

    Yields a dict ``{storage address: elements}`` of the distinct tensors saved, filled by
    :func:`torch.autograd.graph.saved_tensors_hooks` (a public hook). ``owned``: a module (its
    parameters and buffers are excluded) or the tensors to exclude.
    """
    if isinstance(owned, torch.nn.Module):
        owned = (*owned.parameters(), *owned.buffers())
    owned = {t.untyped_storage().data_ptr() for t in owned}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in owned and tensor.device.type != "meta":
            saved[storage.data_ptr()] = storage.nbytes() // max(1, tensor.element_size())
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        yield saved


@runtime_checkable
class DreamNetwork(Protocol):
    """MATLAB's ``net`` as ``deepDreamImage`` uses it."""

    input_channels: int
    input_size: InputSize

    def layer_name_at(self, index: int, base: int = 1) -> str:
        """Name of layer ``index`` counted from ``base`` (MATLAB: 1); errors use that numbering."""
        ...

    def tile_size(self, override: Optional[int] = None) -> int:
        """MATLAB's ``TileSize``: ``override``, else the larger side of the input."""
        ...

    def input_mean(self) -> Optional[np.ndarray]:
        """Per-channel mean the input layer subtracts (length C), if any."""
        ...

    def truncated(self, layer: str, tile_size: Optional[int] = None) -> VisualNetwork:
        """The visual network of ``layer`` (cached per layer)."""
        ...


def tile_size_of(input_size: InputSize, override: Optional[int], why_unknown: str) -> int:
    """``override`` if given, else the larger side of ``input_size`` (an error if it is unknown)."""
    if override is not None:
        return int(override)
    if None in input_size:
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:UnknownTileSize",
            f"net: {why_unknown}; give the tile size explicitly (TileSize / tile_size, e.g. 224 for ImageNet networks).",
        )
    return max(input_size)  # type: ignore[type-var]


@dataclass(frozen=True)
class TruncationProbe:
    """What one pass of a truncated network on a zero image of its input size told."""

    channels: int  # of its N×C×H×W or N×C output
    convolution_macs: int  # :func:`convolution_macs` on that image
    saved_elements: int  # :func:`counting_saved_elements` on that image (what the backward pass keeps)


def probe_truncation(
    module: torch.nn.Module, layer: str, input_channels: int, size: tuple[int, int]
) -> TruncationProbe:
    """Run ``module`` once on zeros of ``size`` (with gradients recorded, none computed): its output's
    channel count, the multiply-adds of its convolutions (for the layout rule) and the elements it saves
    for its backward pass (for the memory guard), all from the same pass so that neither needs another."""
    parameter = next(module.parameters(), None)
    dtype = parameter.dtype if parameter is not None else torch.float32
    device = parameter.device if parameter is not None else "cpu"
    try:
        probe = torch.zeros(1, input_channels, *size, dtype=dtype, device=device, requires_grad=True)
        with counting_convolutions(module) as counted, counting_saved_elements(module) as saved, torch.enable_grad():
            output = module(probe)
    except (RuntimeError, MemoryError) as exc:  # a size the layers cannot take: name it, not torch's traceback
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        too_large = isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or "allocate" in reason
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:LayerFailsAtInputSize",
            f"layer: {layer!r} and the layers before it cannot run on a {size[0]}×{size[1]}×{input_channels} input "
            f"({reason[:300]}); "
            + (
                "give a smaller tile size (TileSize / tile_size / --tile-size)."
                if too_large
                else "give a tile size the network takes (TileSize / tile_size / --tile-size), "
                "or export the network with an input size it takes."
            ),
        ) from None
    if output.dim() not in (2, 4):
        tokens = (
            " (3-D: a transformer's token layer, N×tokens×features, or a 1-D convolution's N×C×L)"
            if output.dim() == 3
            else ""
        )
        render = (
            "; render (deepdream render, deepdreamport.optvis.render) visualises token layers and 1-D convolutions"
            if output.dim() == 3
            else ""
        )
        raise DeepDreamError(
            "deepdreamport:deepDreamImage:LayerNotImageLike",
            f"layer: {layer!r} outputs a tensor of shape {tuple(output.shape)}{tokens}; expected N×C×H×W or N×C "
            f"(fully connected): choose a convolution, pooling or fully connected layer{render}.",
        )
    return TruncationProbe(int(output.shape[1]), counted[0], sum(saved.values()) + output.numel())

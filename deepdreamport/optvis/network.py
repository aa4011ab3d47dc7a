"""The network as optvis sees it: layer activations of an image batch.

Plays the part of lucent's ``render.hook_model`` (forward hooks on every
module, ``T(layer)`` to read one). Three kinds of network:

- an ONNX graph that onnx2torch converts: the layers an objective reads
  become the outputs of one extracted subgraph (later layers never run);
- a torch module: forward hooks on the ``named_modules()`` the objective names;
- an ONNX graph onnx2torch cannot convert: onnxruntime runs the subgraph, for
  the gradient-free optimisers only;
- a ``torch.export`` (``.pt2``) or TorchScript file: a ``torch.fx`` graph cut
  after the layers read, like an ONNX graph (:mod:`.torch_files`).

Layer names of torch modules may also be written as lucent's hooks name them
(``features_0`` for ``features.0``), and ``"labels"`` is the last module (for
graphs: the last layer), as in lucent.

Memory format (as the deep-dream side, :mod:`deepdreamport.nets.base`): the
network runs in the layout :func:`~deepdreamport.nets.base.preferred_memory_format`
picks for the device, dtype and the shape of the images entering it
(``channels_last`` for float32 networks with at least 5 M convolution
multiply-adds per image, decided at the first batch of each shape), or in the
one given (``memory_format=``). Images enter in that layout; the activations,
and so the gradient flowing back into the images, come back in the default
layout, so everything outside the network (transforms, parametrisations,
objectives) runs as before. The layout changes only the order of the
convolutions' sums (rounding). The weights are put in the layout in place
(a caller's torch module too, as it is moved to the device and dtype).

The image is 0–1; :attr:`OptvisNetwork.preprocess` maps it to the network's
units. For ONNX graphs the range is given (``input_range=(low, high)``) or
found: a MATLAB input layer's mean (``Sub`` of a constant from the input) whose
largest value exceeds 1 means 0–255 pixels, one whose values are all ≤ 1 means
0–1, and no mean means 0–255 (MATLAB exports, this project's models). Torch
modules get lucent's ImageNet normalisation unless ``preprocess`` is given.

Shape:
    images ``K×C×H×W``; activations ``K×C'×H'×W'`` or ``K×C'``.
"""

from __future__ import annotations

import difflib
import os
import weakref
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from ._network import (
    SHAPE_ERRORS,
    DeepDreamError,
    OneImagePerPass,
    OnnxGraph,
    as_channel_map,
    batch_pinned_to_one,
    check_layouts,
    concatenate_outputs,
    load_onnx,
    module_layout,
    preferred_memory_format,
    require,
)
from .redirected_relu import with_redirected_relu
from .torch_files import FxGraph, is_torch_file, load_torch_file

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalize(images: torch.Tensor) -> torch.Tensor:
    """lucent's ``transform.normalize()`` (torchvision ``Normalize`` per image).

    Shape: ``K×3×H×W`` → ``K×3×H×W``
    """
    mean = torch.as_tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(-1, 1, 1)
    std = torch.as_tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(-1, 1, 1)
    return torch.stack([(image - mean) / std for image in images])


def range_map(low: float, high: float) -> Callable[[torch.Tensor], torch.Tensor]:
    """0–1 → ``low``–``high`` (``x * (high - low) + low``; exactly ``x * high`` when ``low`` is 0)."""
    if low == 0:
        return lambda images: images * high
    return lambda images: images * (high - low) + low


def _error(message: str) -> DeepDreamError:
    return DeepDreamError("deepdreamport:optvis:BadObjective", message)


PROBE_SIDE = 64
"""The side of the grey image that finds a layer's channel count when neither the network nor the render says."""


def _probe_failed(shape, error: Exception) -> DeepDreamError:
    """A torch module that refuses the probe image: it takes other sizes only (a ``Linear`` after a flatten)."""
    reason = " ".join(str(error).split())[:200]
    return DeepDreamError(
        "deepdreamport:optvis:InputSizeRefused",
        f"net: the network fails on a {'×'.join(map(str, shape))} image ({type(error).__name__}: {reason}); "
        "if it takes one input size only, render at that size: size=(H, W), transforms='none' "
        "(--size HxW --transforms none on the command line).",
    )


MEMORY_FORMATS = (torch.contiguous_format, torch.channels_last)


def check_memory_format(memory_format) -> None:
    """``None`` (the layout rule), ``torch.contiguous_format`` or ``torch.channels_last``; else an error."""
    if memory_format is not None and not any(memory_format is choice for choice in MEMORY_FORMATS):
        raise DeepDreamError(
            "deepdreamport:optvis:BadArgument",
            "memory_format: expected None (the layout rule of deepdreamport.nets.base.preferred_memory_format), "
            f"torch.contiguous_format or torch.channels_last; got {memory_format!r}.",
        )


def _enter(images: torch.Tensor, memory_format: torch.memory_format) -> torch.Tensor:
    """``images`` in ``memory_format``; the gradient flowing back through the conversion leaves in the default layout."""
    if memory_format is torch.contiguous_format:
        return images
    entered = images.contiguous(memory_format=memory_format)
    if entered is not images and entered.requires_grad:
        entered.register_hook(lambda grad: grad.contiguous())
    return entered


def _batch_first(found: dict, count: int) -> bool:
    """Whether every tensor a hook caught has the batch, ``count``, as its first axis."""
    return all(t.dim() > 0 and t.shape[0] == count for t in found.values() if isinstance(t, torch.Tensor))


def _joined(parts: list) -> dict:
    """Per-image ``{layer: output}`` joined along the batch (:func:`~deepdreamport.nets.batch.concatenate_outputs`)."""
    return {layer: concatenate_outputs([part[layer] for part in parts]) for layer in parts[0]}


def _leave(activations, memory_format: torch.memory_format, layer: str, batch: int, layout: Callable):
    """Activations back in the default layout (a no-op when the network ran in it); a 3-D layer as its channel
    map by ``layout(layer)`` (:func:`~deepdreamport.nets.layout.as_channel_map`)."""
    if not isinstance(activations, torch.Tensor):
        return activations
    if activations.dim() == 3:
        activations = as_channel_map(activations, layer, layout(layer), batch)
    if memory_format is torch.contiguous_format:
        return activations
    return activations.contiguous()


class OptvisNetwork:
    """A network with a 0–1 image input whose layers objectives can read."""

    def __init__(
        self,
        *,
        input_channels: int,
        input_size,
        preprocess: Callable,
        input_range_source: str,
        graph: Optional[OnnxGraph] = None,
        module: Optional[torch.nn.Module] = None,
        layouts: Optional[dict] = None,
    ):
        self.input_channels = int(input_channels)
        self.input_size = input_size
        self.preprocess = preprocess
        self.input_range_source = input_range_source
        self.graph = graph
        self.module = module
        self.layouts = check_layouts(layouts)  # layer → "channels" | "tokens": a 3-D layer's layout, when given
        self.probe_size: tuple[int, int] = (PROBE_SIDE, PROBE_SIDE)  # where input_size does not say
        self._modules: dict = {}
        self._sessions: dict = {}
        self._channels: dict = {}
        self._read_layouts: dict = {}  # layer key → the layout read from what produced it (layout_of)
        self.last_memory_format: Optional[torch.memory_format] = None  # the layout of the latest torch forward
        self._layout_choices: dict = {}  # (module key, device, dtype, C×H×W) → the rule's layout
        self._weight_layouts: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._pinned: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # module → its batch is pinned to 1
        self._module_pinned: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # torch module → {layers: pinned}
        self._ort_pinned: dict = {}  # onnxruntime session key → its batch is pinned to 1

    # -- construction ----------------------------------------------------------
    @classmethod
    def from_onnx(
        cls, source, input_range: Optional[tuple] = None, preprocess: Optional[Callable] = None
    ) -> "OptvisNetwork":
        graph = source if isinstance(source, OnnxGraph) else load_onnx(source)
        if preprocess is not None:
            how = "given (preprocess)"
        else:
            if input_range is None:
                mean = graph.input_mean()
                if mean is None:
                    input_range, how = (0.0, 255.0), "assumed 0–255 (no input-layer mean; MATLAB exports take pixels)"
                elif float(np.max(mean)) > 1:
                    input_range, how = (0.0, 255.0), f"found 0–255 (input-layer mean {np.round(mean, 3).tolist()})"
                else:
                    input_range, how = (0.0, 1.0), f"found 0–1 (input-layer mean {np.round(mean, 3).tolist()})"
            else:
                how = f"given {tuple(input_range)}"
            preprocess = range_map(*input_range)
        return cls._of_graph(graph, preprocess, how)

    @classmethod
    def _of_graph(cls, graph, preprocess: Callable, how: str) -> "OptvisNetwork":
        return cls(
            input_channels=graph.input_channels,
            input_size=graph.input_size,
            preprocess=preprocess,
            input_range_source=how,
            graph=graph,
        )

    @classmethod
    def from_fx(
        cls, graph: FxGraph, input_range: Optional[tuple] = None, preprocess: Optional[Callable] = None
    ) -> "OptvisNetwork":
        """A network saved by torch (:mod:`.torch_files`): ImageNet normalisation unless a range or mapping is given."""
        if preprocess is not None:
            how = "given (preprocess)"
        elif input_range is not None:
            preprocess, how = range_map(*input_range), f"given {tuple(input_range)}"
        elif graph.input_channels == 3:
            preprocess, how = imagenet_normalize, "ImageNet normalisation (a torch network's default, as lucent)"
        else:
            raise DeepDreamError(
                "deepdreamport:optvis:BadNetwork",
                f"input_range: ImageNet normalisation needs 3 channels; give the range of {graph.input_channels}.",
            )
        return cls._of_graph(graph, preprocess, how)

    @classmethod
    def from_module(
        cls,
        module: torch.nn.Module,
        input_channels: int = 3,
        input_size=(None, None),
        preprocess: Optional[Callable] = None,
    ) -> "OptvisNetwork":
        module.eval()
        if preprocess is None:
            if input_channels != 3:
                raise DeepDreamError(
                    "deepdreamport:optvis:BadNetwork",
                    f"preprocess: ImageNet normalisation needs 3 channels; give preprocess for {input_channels}.",
                )
            preprocess, how = imagenet_normalize, "ImageNet normalisation (lucent's default)"
        else:
            how = "given (preprocess)"
        return cls(
            input_channels=input_channels,
            input_size=input_size,
            preprocess=preprocess,
            input_range_source=how,
            module=module,
        )

    # -- layers ----------------------------------------------------------------
    @property
    def runs_in_torch(self) -> bool:
        return self.module is not None or self.graph.convertible

    def layer_names(self) -> list[str]:
        if self.module is not None:
            return [name for name, _ in self.module.named_modules() if name]
        return self.graph.layer_names()[1:]

    def resolve(self, layer: str, argument: str = "objective") -> str:
        """The key ``layer`` is read by (a tensor name for ONNX, the module name for torch); an error if unknown."""
        if layer == "input":
            return layer
        if self.module is not None:
            choices = [name for name, _ in self.module.named_modules() if name]
            if layer in choices:
                return layer
            lucent_names = {name.replace(".", "_"): name for name in choices}  # lucent's hook names
            if layer in lucent_names:
                return lucent_names[layer]
            if layer == "labels" and choices:  # lucent: the last module hooked
                return choices[-1]
        else:
            try:
                return self.graph.output_of(layer)
            except DeepDreamError:
                choices = self.graph.layer_names()[1:]
                if layer == "labels" and choices:
                    return self.graph.output_of(choices[-1])
        nearest = difflib.get_close_matches(layer, choices, n=5, cutoff=0.0)
        raise _error(f"{argument}: the network has no layer named {layer!r}; nearest: {', '.join(nearest)}.")

    def layout_of(self, layer: str) -> Optional[str]:
        """A 3-D layer's layout (:mod:`deepdreamport.nets.layout`): ``"channels"`` (N×C×L), ``"tokens"``
        (N×T×F) or ``None`` (not told); given in :attr:`layouts`, else read from what produced it."""
        if layer in self.layouts:
            return self.layouts[layer]
        key = self.resolve(layer)
        for name, given in self.layouts.items():
            if name != "input" and self.resolve(name, "layouts") == key:
                return given
        if key not in self._read_layouts:  # read once: a 3-D layer's activations ask at every step
            self._read_layouts[key] = (
                module_layout(self.module, key) if self.module is not None else self.graph.layout_of(key)
            )
        return self._read_layouts[key]

    def channels_of(self, layer: str) -> int:
        """Channel count of ``layer`` (probed once with a small image)."""
        key = self.resolve(layer)
        if key == "input":  # the image itself (lucent's "input" layer), not an activation
            return self.input_channels
        if key not in self._channels:
            size = [given or probe for given, probe in zip(self.input_size or (None, None), self.probe_size)]
            probe = torch.full((1, self.input_channels, *size), 0.5, device="cpu")  # the probe runs on the CPU
            with torch.no_grad():
                if self.runs_in_torch:
                    forward = self.torch_forward([layer], torch.float32, "cpu", memory_format=torch.contiguous_format)
                    try:
                        acts = forward(self.preprocess(probe))
                    except DeepDreamError:
                        raise
                    except (RuntimeError, ValueError, IndexError, TypeError) as error:  # a module's own size rule
                        raise _probe_failed(probe.shape, error) from None
                    self._channels[key] = int(acts[layer].shape[1])
                else:
                    acts = self.ort_forward([layer])(self.preprocess(probe).numpy())
                    self._channels[key] = int(acts[layer].shape[1])
        return self._channels[key]

    def check_unit(self, layer: str, channel: int, argument: str = "objective") -> None:
        self.resolve(layer, argument)
        count = self.channels_of(layer)
        if not 0 <= int(channel) < count:
            raise _error(f"{argument}: channel {channel} of {layer!r} is out of range; it has channels 0..{count - 1}.")

    # -- running -----------------------------------------------------------------
    def torch_forward(
        self,
        layers: Sequence[str],
        dtype: torch.dtype,
        device,
        redirected_relu: bool = False,
        memory_format: Optional[torch.memory_format] = None,
    ) -> Callable[[torch.Tensor], dict]:
        """A function from a preprocessed batch to ``{layer: activations}`` for ``layers`` (not ``"input"``).

        ``redirected_relu`` runs a copy whose ReLU/ReLU6 modules pass Lucid's redirected gradient.
        ``memory_format``: the layout the network runs in; ``None`` is the rule of
        :func:`~deepdreamport.nets.base.preferred_memory_format` for the batch's device, dtype and
        image shape. Activations come back in the default layout either way.
        """
        check_memory_format(memory_format)
        layers = [layer for layer in dict.fromkeys(layers) if layer != "input"]
        keys = [self.resolve(layer) for layer in layers]
        if self.module is not None:
            base = self.module.to(device=device, dtype=dtype)
            module = with_redirected_relu(base) if redirected_relu else base
            named = dict(module.named_modules())
            choose = self._layout_rule(("module",), base, memory_format)

            def hooked(images: torch.Tensor) -> dict:
                """``{layer: output}`` of one forward pass of ``images`` (already in the layout)."""
                found: dict = {}
                handles = [
                    named[key].register_forward_hook(
                        lambda _m, _i, output, layer=layer: found.__setitem__(layer, output)
                    )
                    for layer, key in zip(layers, keys)
                ]
                try:
                    module(images)
                finally:
                    for handle in handles:
                        handle.remove()
                return found

            def run_module(images: torch.Tensor) -> dict:
                layout = self.last_memory_format = choose(images)
                self._in_layout(module, layout)
                entered = _enter(images, layout)
                found = self._module_pass(module, tuple(keys), hooked, entered)
                return {
                    layer: _leave(output, layout, layer, len(images), self.layout_of) for layer, output in found.items()
                }

            return run_module
        if not self.graph.convertible:
            raise DeepDreamError(
                "deepdreamport:optvis:NoGradients",
                f"net: onnx2torch cannot convert this graph ({self.graph.why_not_convertible}); only the gradient-free "
                "optimisers (optimizer='cmaes' or 'ga') can visualise it, in onnxruntime.",
            )
        cache_key = tuple(dict.fromkeys(keys))
        if cache_key not in self._modules:
            self._modules[cache_key] = self.graph.torch_module(list(cache_key))
        base = self._modules[cache_key].to(device=device, dtype=dtype)
        module = with_redirected_relu(base) if redirected_relu else base
        choose = self._layout_rule(cache_key, base, memory_format)

        def run_graph(images: torch.Tensor) -> dict:
            layout = self.last_memory_format = choose(images)
            runner = self._in_layout(module, layout)
            if len(images) > 1 and self._batch_pinned(runner, images):
                runner = OneImagePerPass(runner)
            outputs = runner(_enter(images, layout))
            if isinstance(outputs, torch.Tensor):
                outputs = (outputs,)
            by_key = dict(zip(cache_key, outputs))
            return {
                layer: _leave(by_key[key], layout, layer, len(images), self.layout_of)
                for layer, key in zip(layers, keys)
            }

        return run_graph

    def _batch_pinned(self, module: torch.nn.Module, images: torch.Tensor) -> bool:
        """Whether a graph's ``module`` runs one image per pass (:mod:`deepdreamport.nets.batch`).

        Decided once per module, at the shape of the first batch of several images it sees: the
        batch is a property of the export, not of the image size (the transforms change the size
        at every step, and a probe per size would cost a pass each).
        """
        if module not in self._pinned:
            self._pinned[module] = batch_pinned_to_one(module, images.shape[1], tuple(images.shape[2:]))
        return self._pinned[module]

    def _module_pass(self, module: torch.nn.Module, keys: tuple, hooked: Callable, images: torch.Tensor) -> dict:
        """``hooked(images)``, or one image per pass when the module's batch is pinned to 1 (``x.view(1, -1)``,
        ``reshape(1, ...)``), as graphs run (:mod:`deepdreamport.nets.batch`).

        Found at the first batch of several images: a batch that fails with a shape error, or gives a layer
        read (``keys``) whose first axis is not the batch, while each image alone runs with batch-1 layers,
        means pinned (remembered per module and layers). A network whose batch is free costs no extra pass.
        """
        cache = self._module_pinned.setdefault(module, {})
        count = len(images)
        if count > 1 and cache.get(keys):
            return _joined([hooked(images[k : k + 1]) for k in range(count)])
        try:
            found = hooked(images)
            failed = None
        except SHAPE_ERRORS as error:
            found, failed = {}, error
        if count == 1 or keys in cache or (failed is None and _batch_first(found, count)):
            if failed is not None:
                raise failed
            if count > 1:
                cache.setdefault(keys, False)
            return found
        parts = []
        for k in range(count):
            try:
                parts.append(hooked(images[k : k + 1]))
            except SHAPE_ERRORS:
                parts = []
                break
            if not _batch_first(parts[-1], 1):
                parts = []
                break
        cache[keys] = bool(parts)
        if not parts:  # not a pinned batch: the batched pass's own error, or its outputs for the caller to refuse
            if failed is not None:
                raise failed
            return found
        return _joined(parts)

    def _layout_rule(
        self, key: tuple, module: torch.nn.Module, memory_format: Optional[torch.memory_format]
    ) -> Callable[[torch.Tensor], torch.memory_format]:
        """The layout a batch runs in: ``memory_format``, or the rule's choice, decided once per device, dtype and shape."""
        if memory_format is not None:
            return lambda images: memory_format

        def choose(images: torch.Tensor) -> torch.memory_format:
            if images.dim() != 4:
                return torch.contiguous_format
            shape = tuple(images.shape[1:])
            choice_key = (key, str(images.device), images.dtype, shape)
            if choice_key not in self._layout_choices:
                self._layout_choices[choice_key] = preferred_memory_format(module, shape, images.device, images.dtype)
            return self._layout_choices[choice_key]

        return choose

    def _in_layout(self, module: torch.nn.Module, memory_format: torch.memory_format) -> torch.nn.Module:
        """``module`` with its 4-D weights in ``memory_format`` (converted in place when they are not), so a
        forward's numbers never depend on which layout an earlier forward of the same module used."""
        if self._weight_layouts.get(module) is not memory_format:
            module.to(memory_format=memory_format)
            self._weight_layouts[module] = memory_format
        return module

    def ort_forward(self, layers: Sequence[str]) -> Callable[[np.ndarray], dict]:
        """onnxruntime version of :meth:`torch_forward` on float32 NumPy batches (ONNX graphs only)."""
        if not isinstance(self.graph, OnnxGraph):
            raise DeepDreamError(
                "deepdreamport:optvis:BadNetwork", "net: onnxruntime runs ONNX graphs only; this is a torch network."
            )
        onnxruntime = require(
            "onnxruntime", f"running this graph without onnx2torch ({self.graph.why_not_convertible or 'by request'})"
        )
        layers = [layer for layer in dict.fromkeys(layers) if layer != "input"]
        keys = [self.resolve(layer) for layer in layers]
        cache_key = tuple(dict.fromkeys(keys))
        if cache_key not in self._sessions:
            model = self.graph.onnx_subgraph(list(cache_key))
            try:
                self._sessions[cache_key] = onnxruntime.InferenceSession(
                    model.SerializeToString(), providers=["CPUExecutionProvider"]
                )
            except Exception as error:  # noqa: BLE001 - onnxruntime raises several unrelated types
                raise DeepDreamError(
                    "deepdreamport:optvis:CannotRun",
                    f"net: neither onnx2torch nor onnxruntime can run this graph "
                    f"({self.graph.why_not_convertible or 'convertible'}; onnxruntime: {' '.join(str(error).split())[:200]}).",
                ) from None
        session = self._sessions[cache_key]
        input_name = self.graph.input_name

        def run_once(images: np.ndarray, options=None) -> list:
            feed = {input_name: np.ascontiguousarray(images, dtype=np.float32)}
            return session.run(list(cache_key), feed, options)

        def run(images: np.ndarray) -> dict:
            if len(images) > 1 and self._ort_batch_pinned(cache_key, run_once, images):
                per_image = [run_once(images[k : k + 1]) for k in range(len(images))]
                outputs = [np.concatenate(parts) for parts in zip(*per_image)]
            else:
                outputs = run_once(images)
            by_key = dict(zip(cache_key, outputs))
            return {
                layer: as_channel_map(by_key[key], layer, self.layout_of(layer), len(images))
                if by_key[key].ndim == 3
                else by_key[key]
                for layer, key in zip(layers, keys)
            }

        return run

    def _ort_batch_pinned(self, key: tuple, run_once: Callable, images: np.ndarray) -> bool:
        """:meth:`_batch_pinned` for an onnxruntime session: a batch of 2 that fails where 1 runs."""
        if key not in self._ort_pinned:
            quiet = require("onnxruntime", "running this graph in onnxruntime").RunOptions()
            quiet.log_severity_level = 4  # the probe's expected failure is not the user's error: not logged

            def runs(count: int) -> bool:
                try:
                    run_once(np.zeros((count, *images.shape[1:]), np.float32), quiet)
                except Exception:  # noqa: BLE001 - onnxruntime raises several unrelated types
                    return False
                return True

            self._ort_pinned[key] = not runs(2) and runs(1)
        return self._ort_pinned[key]


def as_network(
    net, input_range: Optional[tuple] = None, preprocess: Optional[Callable] = None, layouts: Optional[dict] = None
) -> OptvisNetwork:
    """An :class:`OptvisNetwork` from an ONNX path/bytes/proto, a torch module, a ``torch.export`` (``.pt2``) or
    TorchScript file (:mod:`.torch_files`), or one already made. ``layouts``: ``{layer: "channels" | "tokens"}``,
    the layout of 3-D layers what produced them does not tell (:mod:`deepdreamport.nets.layout`)."""
    given = check_layouts(layouts)
    network = _as_network(net, input_range, preprocess)
    network.layouts.update(given)
    return network


def _as_network(net, input_range: Optional[tuple], preprocess: Optional[Callable]) -> OptvisNetwork:
    if isinstance(net, OptvisNetwork):
        return net
    if isinstance(net, torch.nn.Module):
        return OptvisNetwork.from_module(net, preprocess=preprocess)
    if isinstance(net, FxGraph):
        return OptvisNetwork.from_fx(net, input_range=input_range, preprocess=preprocess)
    if isinstance(net, (str, os.PathLike)) and is_torch_file(net):
        return OptvisNetwork.from_fx(load_torch_file(net), input_range=input_range, preprocess=preprocess)
    return OptvisNetwork.from_onnx(net, input_range=input_range, preprocess=preprocess)

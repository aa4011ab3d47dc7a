"""Objectives: what the optimiser minimises, composable with ``+ - * /``.

Mirrors lucent's ``optvis/objectives.py`` (``Objective``, ``channel``,
``neuron``, ``neuron_weight``, ``channel_weight``, ``localgroup_weight``,
``direction``, ``direction_neuron``, ``channel_interpolate``, ``diversity``,
``alignment``, ``blur_input_each_step``, ``as_objective``, ``wrap_objective``,
``handle_batch``) and Lucid's regularisers (``L1``, ``L2``,
``total_variation``). An objective is called with ``T``: ``T(layer)`` returns
the activations of ``layer`` (a name as ``deepdream layers`` shows it, an ONNX
node or tensor name, or a torch module name from ``named_modules()``, also in
lucent's ``_``-joined spelling) and ``T("input")`` the 0–1 image before the
transforms. Like lucent, objectives are losses (smaller is better):
``channel`` returns minus the mean activation. An objective knows the layers
it reads (``Objective.layers``); a plain callable ``T -> loss`` or lucent's
``Objective(f)`` does not declare them, and ``render`` finds them by
evaluating it once (:mod:`.layer_discovery`).

Deviations:

- Objectives combine with objectives under ``*`` and ``/`` too (the product
  or quotient of their values); lucent raises ``TypeError`` for those.
- ``deepdream`` is the objective of MATLAB's ``deepDreamImage`` (minus the
  spatial mean of one channel, per batch element, N×C layers read as 1×1).
- Careless input is refused with one line naming the argument where lucent
  would raise a torch error or return NaN: a ``direction`` or ``weight``
  whose length is not the layer's channel count, a ``neuron`` /
  ``direction_neuron`` / ``neuron_weight`` / ``localgroup_weight`` position
  outside the activation map (and ``localgroup_weight`` without ``x``/``y``),
  ``channel_interpolate`` on a batch of one image (lucent's weights
  ``arange(1) / 0`` are NaN).
- ``L1``, ``L2``, ``total_variation`` and ``blur`` are penalties (positive,
  add them with a positive weight); in Lucid they are maximised with a
  negative weight. ``blur`` is lucent's ``blur_input_each_step`` for any
  channel count.

Token layers (no lucent counterpart): a transformer's ``K×tokens×features``
layer is read as ``K×features×h×w`` (:mod:`deepdreamport.nets.tokens`): its
features are the channels, its patch tokens the positions, a leading class
token (``1 + h·h`` tokens) left out. ``channel`` is then the feature averaged
over the patch tokens; a layer whose tokens form no square grid is
``K×features×tokens`` (the channel mean covers every token) and objectives
that name a position refuse it.

Shape:
    ``T(layer)`` is ``K×C×H×W`` (or ``K×C`` for fully connected layers, ``K×F×T``
    for a token layer without a grid); every objective returns a scalar tensor.
"""

from __future__ import annotations

import functools
import numbers
from typing import Callable, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ._network import DeepDreamError

Activations = Callable[[str], torch.Tensor]


class Objective:
    """A loss of the activations, ``objective(T)``, with the layers it reads in :attr:`layers`."""

    def __init__(
        self,
        objective_func: Callable[[Activations], torch.Tensor],
        name: str = "",
        description: str = "",
        layers: Optional[Sequence[str]] = None,
        units: Sequence[tuple] = (),
    ):
        self.objective_func = objective_func
        self.name = name
        self.description = description
        # None (lucent's ``Objective(f)``): the layers are not declared, and render finds them by
        # evaluating the objective once on the first image (:mod:`.layer_discovery`)
        self.declared = layers is not None
        self.layers = tuple(dict.fromkeys(layers or ()))
        self.units = tuple(dict.fromkeys(units))  # (layer, channel) pairs it indexes, checked by render

    def joint_layers(self, *others: "Objective") -> Optional[tuple]:
        """The layers of ``self`` and ``others`` together, or None when any of them is undeclared."""
        parts = (self,) + others
        if not all(part.declared for part in parts):
            return None
        return tuple(layer for part in parts for layer in part.layers)

    def with_layers(self, layers: Sequence[str]) -> "Objective":
        """The same objective with its layers declared."""
        return Objective(self.objective_func, self.name, self.description, layers, self.units)

    def __call__(self, T: Activations) -> torch.Tensor:
        return self.objective_func(T)

    def __repr__(self) -> str:
        return f"Objective({self.description or self.name})"

    def _combine(self, other, op, symbol: str) -> "Objective":
        if isinstance(other, numbers.Real):
            return Objective(
                lambda T: op(self(T), other),
                self.name,
                f"({self.description} {symbol} {other})",
                self.joint_layers(),
                self.units,
            )
        if isinstance(other, Objective):
            return Objective(
                lambda T: op(self(T), other(T)),
                ", ".join(n for n in (self.name, other.name) if n),
                f"({self.description} {symbol} {other.description})",
                self.joint_layers(other),
                self.units + other.units,
            )
        return NotImplemented

    def __add__(self, other):
        return self._combine(other, lambda a, b: a + b, "+")

    def __radd__(self, other):
        if isinstance(other, numbers.Real):
            return Objective(
                lambda T: other + self(T), self.name, f"({other} + {self.description})", self.joint_layers(), self.units
            )
        return NotImplemented

    def __sub__(self, other):
        return self._combine(other, lambda a, b: a - b, "-")

    def __rsub__(self, other):
        if isinstance(other, numbers.Real):
            return Objective(
                lambda T: other - self(T), self.name, f"({other} - {self.description})", self.joint_layers(), self.units
            )
        return NotImplemented

    def __mul__(self, other):
        return self._combine(other, lambda a, b: a * b, "*")

    def __rmul__(self, other):
        if isinstance(other, numbers.Real):
            return Objective(
                lambda T: other * self(T), self.name, f"({other} * {self.description})", self.joint_layers(), self.units
            )
        return NotImplemented

    def __truediv__(self, other):
        return self._combine(other, lambda a, b: a / b, "/")

    def __neg__(self):
        return Objective(lambda T: -self(T), self.name, f"-{self.description}", self.joint_layers(), self.units)

    @staticmethod
    def sum(objectives: Sequence["Objective"]) -> "Objective":
        """All of ``objectives`` added (lucent ``Objective.sum``)."""
        objectives = list(objectives)
        layers = objectives[0].joint_layers(*objectives[1:]) if objectives else ()
        units = tuple(unit for objective in objectives for unit in objective.units)
        return Objective(
            lambda T: sum(objective(T) for objective in objectives),
            ", ".join(o.name for o in objectives),
            "Sum(" + " + ".join(o.description for o in objectives) + ")",
            layers,
            units,
        )


def _batched(T: Activations, batch: Optional[int]) -> Activations:
    """``T`` restricted to batch element ``batch`` (lucent ``_T_handle_batch``)."""
    if batch is None:
        return T
    return lambda name: T(name)[batch : batch + 1]


def _image_like(t: torch.Tensor) -> torch.Tensor:
    """``K×C`` as ``K×C×1×1``; a token layer without a grid (``K×F×T``, :mod:`deepdreamport.nets.tokens`)
    as ``K×F×T×1``; ``K×C×H×W`` unchanged."""
    if t.dim() == 2:
        return t[:, :, None, None]
    return t[:, :, :, None] if t.dim() == 3 else t


def _position_map(t: torch.Tensor, layer: str) -> torch.Tensor:
    """:func:`_image_like` for objectives that name a position: a token layer without a grid is refused."""
    if t.dim() == 3:
        raise _bad(
            f"{layer!r} is a token layer whose {t.shape[2]} tokens form no square grid (h·h or 1 + h·h), "
            "so it has no positions; use a channel objective (the mean over its tokens)."
        )
    return _image_like(t)


def _describe(name: str, *args) -> str:
    shown = ["..." if len(str(a)) > 15 or "\n" in str(a) else str(a) for a in args]
    return f"{name.title()} [{', '.join(shown)}]"


class CountedFrom1(int):
    """A 0-based position the user wrote counted from 1 (the command line): messages show it as written."""

    base = 1


def _shown(index: int) -> int:
    """``index`` as its writer counted it: +1 for a :class:`CountedFrom1` position, else as is (the Python API)."""
    return index + getattr(index, "base", 0)


def _map_positions(x: int, height: int, width: int) -> str:
    """``"4×4 activation map (x and y from 1 to 4)"``, in the numbering ``x`` was written in."""
    first = _shown(x) - x
    return f"{height}×{width} activation map (x from {first} to {width - 1 + first}, y from {first} to {height - 1 + first})"


def _bad(message: str) -> DeepDreamError:
    return DeepDreamError("deepdreamport:optvis:BadObjective", f"objective: {message}")


def _center_position(acts: torch.Tensor, x: Optional[int], y: Optional[int], layer: str) -> torch.Tensor:
    """lucent ``_extract_act_pos``: x defaults to ``H // 2`` and y to ``W // 2`` (equal for square maps).

    ``x`` indexes the width and ``y`` the height, as in lucent.
    """
    x = acts.shape[2] // 2 if x is None else x
    y = acts.shape[3] // 2 if y is None else y
    height, width = acts.shape[2], acts.shape[3]
    if not (0 <= x < width and 0 <= y < height):
        raise _bad(f"position x={_shown(x)}, y={_shown(y)} is outside {layer!r}'s {_map_positions(x, height, width)}.")
    return acts[:, :, y : y + 1, x : x + 1]


def _direction_like(vector, acts: torch.Tensor, layer: str) -> torch.Tensor:
    """``vector`` as a ``1×C×1×1`` tensor of the activations' dtype and device (C checked)."""
    target = torch.as_tensor(vector).to(device=acts.device, dtype=acts.dtype)
    if target.numel() != acts.shape[1]:
        raise _bad(f"the direction has {target.numel()} values but {layer!r} has {acts.shape[1]} channels.")
    return target.reshape((1, -1, 1, 1))


def channel(layer: str, n_channel: int, batch: Optional[int] = None) -> Objective:
    """Minus the mean of channel ``n_channel`` of ``layer`` (lucent ``channel``)."""

    def inner(T):
        return -_image_like(_batched(T, batch)(layer))[:, n_channel].mean()

    return Objective(inner, "channel", _describe("channel", layer, n_channel, batch), [layer], [(layer, n_channel)])


def neuron(
    layer: str, n_channel: int, x: Optional[int] = None, y: Optional[int] = None, batch: Optional[int] = None
) -> Objective:
    """Minus channel ``n_channel`` at one position, the centre by default (lucent ``neuron``)."""

    def inner(T):
        acts = _center_position(_position_map(_batched(T, batch)(layer), layer), x, y, layer)
        return -acts[:, n_channel].mean()

    return Objective(inner, "neuron", _describe("neuron", layer, n_channel, x, y, batch), [layer], [(layer, n_channel)])


def direction(layer: str, vector, batch: Optional[int] = None) -> Objective:
    """Minus the mean cosine similarity of each position's channel vector with ``vector`` (lucent ``direction``)."""

    def inner(T):
        acts = _image_like(_batched(T, batch)(layer))
        return -torch.nn.CosineSimilarity(dim=1)(_direction_like(vector, acts, layer), acts).mean()

    return Objective(inner, "direction", _describe("direction", layer, vector, batch), [layer])


def direction_neuron(
    layer: str, vector, x: Optional[int] = None, y: Optional[int] = None, batch: Optional[int] = None
) -> Objective:
    """Minus the cosine similarity of one position's channel vector with ``vector``, the centre by default,
    averaged over the batch (lucent ``direction_neuron``)."""

    def inner(T):
        acts = _position_map(_batched(T, batch)(layer), layer)
        target = _direction_like(vector, acts, layer)
        return -torch.nn.CosineSimilarity(dim=1)(target, _center_position(acts, x, y, layer)).mean()

    return Objective(inner, "direction_neuron", _describe("direction_neuron", layer, vector, x, y, batch), [layer])


def _weight_vector(weight, acts: torch.Tensor, layer: str) -> torch.Tensor:
    """``weight`` as a ``C`` tensor of the activations' dtype and device (its length checked)."""
    vector = torch.as_tensor(weight).to(device=acts.device, dtype=acts.dtype)
    if vector.numel() != acts.shape[1]:
        raise _bad(f"the weight has {vector.numel()} values but {layer!r} has {acts.shape[1]} channels.")
    return vector.reshape(-1)


def neuron_weight(
    layer: str, weight=None, x: Optional[int] = None, y: Optional[int] = None, batch: Optional[int] = None
) -> Objective:
    """Minus the ``weight``-weighted channel vector at one position, the centre by default, averaged
    (lucent ``neuron_weight``: ``-(acts.squeeze() * weight).mean()``; no weight: the mean of all channels)."""

    def inner(T):
        acts = _center_position(_position_map(_batched(T, batch)(layer), layer), x, y, layer)
        if weight is None:
            return -acts.mean()
        return -(acts.squeeze() * _weight_vector(weight, acts, layer)).mean()

    return Objective(inner, "neuron_weight", _describe("neuron_weight", layer, weight, x, y, batch), [layer])


def channel_weight(layer: str, weight, batch: Optional[int] = None) -> Objective:
    """Minus the mean of the activations weighted per channel by ``weight`` (lucent ``channel_weight``)."""

    def inner(T):
        acts = _image_like(_batched(T, batch)(layer))
        return -(acts * _weight_vector(weight, acts, layer).view(1, -1, 1, 1)).mean()

    return Objective(inner, "channel_weight", _describe("channel_weight", layer, weight, batch), [layer])


def localgroup_weight(
    layer: str,
    weight=None,
    x: Optional[int] = None,
    y: Optional[int] = None,
    wx: int = 1,
    wy: int = 1,
    batch: Optional[int] = None,
) -> Objective:
    """Minus the mean of the ``wy``×``wx`` window at (``x``, ``y``), weighted per channel by ``weight`` when
    given (lucent ``localgroup_weight``; ``x`` indexes the width and ``y`` the height). Deviation: lucent
    fails with a ``TypeError`` without ``x`` and ``y`` and returns NaN for a window outside the map;
    both are refused here in one line."""
    if x is None or y is None:
        raise _bad("localgroup_weight needs the window's corner: give x= and y= (as in lucent).")

    def inner(T):
        acts = _position_map(_batched(T, batch)(layer), layer)
        height, width = acts.shape[2], acts.shape[3]
        if not (0 <= x < width and 0 <= y < height) or wx < 1 or wy < 1:
            raise _bad(
                f"window x={_shown(x)}, y={_shown(y)}, wx={wx}, wy={wy} is outside {layer!r}'s "
                f"{_map_positions(x, height, width)}."
            )
        window = acts[:, :, y : y + wy, x : x + wx]
        if weight is None:
            return -window.mean()
        return -(window * _weight_vector(weight, acts, layer).view(1, -1, 1, 1)).mean()

    return Objective(
        inner, "localgroup_weight", _describe("localgroup_weight", layer, weight, x, y, wx, wy, batch), [layer]
    )


def channel_interpolate(layer1: str, n_channel1: int, layer2: str, n_channel2: int) -> Objective:
    """A convex combination across the batch (lucent ``channel_interpolate``).

    Element ``n`` of a batch of ``N`` maximises ``(1 - n/(N-1))`` times the mean of
    ``layer1``'s channel ``n_channel1`` plus ``n/(N-1)`` times the mean of ``layer2``'s
    channel ``n_channel2``: all of the first unit at element 0, all of the second at
    element ``N-1``. The weights are float64 NumPy scalars, as in lucent. Needs ``N ≥ 2``.
    """

    def inner(T):
        acts1, acts2 = _image_like(T(layer1)), _image_like(T(layer2))
        batch_n = acts1.shape[0]
        if batch_n < 2:
            raise _bad(f"channel_interpolate needs a batch of at least 2 images to interpolate across; got {batch_n}.")
        arr1, arr2 = acts1[:, n_channel1], acts2[:, n_channel2]
        weights = np.arange(batch_n) / (batch_n - 1)
        sum_loss = 0
        for n in range(batch_n):
            sum_loss -= (1 - weights[n]) * arr1[n].mean()
            sum_loss -= weights[n] * arr2[n].mean()
        return sum_loss

    return Objective(
        inner,
        "channel_interpolate",
        _describe("channel_interpolate", layer1, n_channel1, layer2, n_channel2),
        [layer1, layer2],
        [(layer1, n_channel1), (layer2, n_channel2)],
    )


def deepdream(layer: str, n_channel: int, batch: Optional[int] = None) -> Objective:
    """deepDreamImage's objective: minus the spatial mean of channel ``n_channel``, summed over the batch.

    MATLAB maximises the spatial sum (its gradient is this one's times H×W per
    element) and reports the mean; per element it equals ``channel``, but the
    batch elements are summed rather than averaged.
    """

    def inner(T):
        acts = _image_like(_batched(T, batch)(layer))
        return -acts[:, n_channel].mean(dim=(-2, -1)).sum()

    return Objective(inner, "deepdream", _describe("deepdream", layer, n_channel, batch), [layer], [(layer, n_channel)])


def diversity(layer: str) -> Objective:
    """Minus the mean pairwise cosine similarity of the batch's Gram matrices (lucent ``diversity``)."""

    def inner(T):
        acts = _image_like(T(layer))
        batch, channels = acts.shape[:2]
        flattened = acts.reshape(batch, channels, -1)
        grams = F.normalize(torch.matmul(flattened, flattened.transpose(1, 2)), p=2, dim=(1, 2))
        return -sum(sum((grams[i] * grams[j]).sum() for j in range(batch) if j != i) for i in range(batch)) / batch

    return Objective(inner, "diversity", _describe("diversity", layer), [layer])


def alignment(layer: str, decay_ratio: float = 2) -> Objective:
    """L2 distance between batch neighbours up to 4 apart, decaying by ``decay_ratio`` (lucent ``alignment``)."""

    def inner(T):
        acts = T(layer)
        accum = 0
        for d in (1, 2, 3, 4):
            for i in range(acts.shape[0] - d):
                accum = accum + ((acts[i] - acts[i + d]) ** 2).mean() / decay_ratio ** float(d)
        return accum

    return Objective(inner, "alignment", _describe("alignment", layer, decay_ratio), [layer])


def L1(layer: str = "input", constant: float = 0, batch: Optional[int] = None) -> Objective:
    """Penalty ``sum |T(layer) - constant|`` (Lucid ``L1``, sign flipped)."""

    def inner(T):
        return (_batched(T, batch)(layer) - constant).abs().sum()

    return Objective(inner, "L1", _describe("L1", layer, constant, batch), [layer])


def L2(layer: str = "input", constant: float = 0, epsilon: float = 1e-6, batch: Optional[int] = None) -> Objective:
    """Penalty ``sqrt(epsilon + sum (T(layer) - constant)^2)`` (Lucid ``L2``, sign flipped)."""

    def inner(T):
        return torch.sqrt(epsilon + ((_batched(T, batch)(layer) - constant) ** 2).sum())

    return Objective(inner, "L2", _describe("L2", layer, constant, epsilon, batch), [layer])


def total_variation(layer: str = "input") -> Objective:
    """Penalty: sum of absolute differences between neighbouring pixels (Lucid ``total_variation``)."""

    def inner(T):
        t = T(layer)
        return (t[..., 1:, :] - t[..., :-1, :]).abs().sum() + (t[..., :, 1:] - t[..., :, :-1]).abs().sum()

    return Objective(inner, "total_variation", _describe("total_variation", layer), [layer])


def _blur(image: torch.Tensor) -> torch.Tensor:
    """3×3 box blur (edges weighted ½), renormalised at the border (lucent ``_torch_blur``).

    Shape: ``K×C×H×W`` → ``K×C×H×W``
    """
    channels = image.shape[1]
    kernel = np.full((3, 3), 0.5)
    kernel[1, 1] = 1.0
    weight = np.zeros((channels, channels, 3, 3))
    for c in range(channels):
        weight[c, c] = kernel
    weight = torch.from_numpy(weight)
    weight = weight.to(device=image.device, dtype=image.dtype)
    return F.conv2d(image, weight, None, 1, 1) / F.conv2d(torch.ones_like(image), weight, None, 1, 1)


def blur(layer: str = "input") -> Objective:
    """Penalty ``½ sum (x - blur(x))²`` with the blurred image held fixed (lucent ``blur_input_each_step``, sign flipped)."""

    def inner(T):
        t = T(layer)
        with torch.no_grad():
            blurred = _blur(t)
        return 0.5 * ((t - blurred) ** 2).sum()

    return Objective(inner, "blur", _describe("blur", layer), [layer])


def blur_input_each_step() -> Objective:
    """lucent ``blur_input_each_step``, lucent's sign: ``-½ sum (x - blur(x))²`` of the 0–1 image (minus :func:`blur`)."""
    penalty = blur("input")
    return Objective(lambda T: -penalty(T), "blur_input_each_step", "Blur_Input_Each_Step []", ["input"])


def wrap_objective():
    """lucent's decorator: ``@wrap_objective()`` on ``f(*args) -> (T -> loss)`` makes ``f(*args)`` an
    :class:`Objective` (named after ``f``; its layers are found when it is rendered)."""

    def decorate(func):
        @functools.wraps(func)
        def make(*args, **kwargs) -> Objective:
            return Objective(func(*args, **kwargs), func.__name__, _describe(func.__name__, *args))

        return make

    return decorate


def handle_batch(batch: Optional[int] = None):
    """lucent's ``handle_batch``: ``handle_batch(k)(f)`` is ``f`` reading batch element ``k`` only."""
    return lambda func: lambda T: func(_batched(T, batch if isinstance(batch, int) else None))


def as_objective(obj) -> Objective:
    """Objectives pass through; ``"layer:n"`` becomes ``channel(layer, n)``; a callable ``T -> loss``
    becomes an Objective whose layers are found when it is rendered (lucent ``as_objective``)."""
    if isinstance(obj, Objective):
        return obj
    if isinstance(obj, str):
        layer, _, n = obj.rpartition(":")
        return channel(layer.strip(), int(n))
    if callable(obj):
        return Objective(obj, getattr(obj, "__name__", "custom"), "custom")
    raise TypeError(f"objective: expected an Objective, a 'layer:channel' string or a callable; got {obj!r}")

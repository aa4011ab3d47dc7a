"""Random image transforms that make visualisations robust.

Mirrors lucent's ``optvis/transform.py`` (``pad``, ``jitter``,
``random_scale``, ``random_rotate``, ``compose``, ``standard_transforms``,
``normalize``, ``preprocess_inceptionv1``) in plain torch (``F.pad``, ``F.interpolate``, ``affine_grid``/``grid_sample``;
no kornia).

Two ways of drawing, chosen by the ``draws`` object passed to each call:

- :class:`PerElementDraws` (the default): every batch element gets its own
  offsets, scale and angle from one seeded ``torch.Generator``. Geometry is
  exact: a jitter of ``d`` pixels moves the image by ``d`` pixels, rotation and
  scaling are about the image centre, and scaling keeps the image size (a
  zoom; lucent resizes the whole batch, which cannot differ per element).
  :func:`compose` multiplies consecutive jitter/scale/rotate maps and samples
  once (lucent interpolates after each, blurring more and costing more).
- :class:`LucentDraws`: lucent compatibility. One draw per transform per
  batch from NumPy's global stream (``np.random.choice``), and lucent's
  geometry reproduced operation by operation: kornia 0.4.1's ``translate`` and
  ``warp_affine`` normalise pixel coordinates by ``W - 1`` but sample with
  ``align_corners=False``, so its "integer" jitter is a sub-pixel, slightly
  blurring shift; ``random_scale`` resizes with ``align_corners=True`` and pads
  (left/right by the y pad, top/bottom by the x pad, as lucent's
  ``[pad_y, pad_x] * 2``). The matrices are built in float32 as kornia does.

Called directly (``jitter(8)(images)``, ``compose(transforms)(images)``), the
transforms draw as lucent's do. ``standard_transforms`` is a list, as in lucent,
that can also be called for a copy.

Shape:
    every transform maps ``K×C×H×W`` to ``K×C×H'×W'`` (``pad`` and lucent's
    ``random_scale`` change the size; the others keep it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from ._network import DeepDreamError
from .network import imagenet_normalize


class PerElementDraws:
    """One draw per batch element from ``generator`` (the default)."""

    lucent = False

    def __init__(self, generator: Optional[torch.Generator] = None):
        self.generator = generator

    def choice(self, values: Sequence, batch: int) -> list:
        index = torch.randint(len(values), (batch,), generator=self.generator)
        return [values[i] for i in index.tolist()]


class LucentDraws:
    """One draw per batch from NumPy's global stream, exactly as lucent calls ``np.random.choice``."""

    lucent = True

    def choice(self, values: Sequence, batch: int) -> list:
        return [np.random.choice(values)] * batch


Draws = Union[PerElementDraws, LucentDraws]


# -- geometry helpers (pure) ---------------------------------------------------
def _sample(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Bilinear resampling with zeros outside, ``align_corners=False`` (kornia's defaults)."""
    theta = theta.to(device=images.device, dtype=images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def exact_theta(dst_to_src: np.ndarray, height: int, width: int) -> torch.Tensor:
    """``affine_grid`` matrices for pixel-space maps (output pixel → source pixel), pixel centres at integers.

    Shape:
        ``dst_to_src``: ``K×3×3`` (float64) → ``K×2×3``
    """
    to_norm = np.array([[2.0 / width, 0, 1.0 / width - 1], [0, 2.0 / height, 1.0 / height - 1], [0, 0, 1]])
    from_norm = np.linalg.inv(to_norm)
    theta = to_norm[None] @ dst_to_src @ from_norm[None]
    return torch.from_numpy(theta[:, :2, :])


def kornia_theta(src_to_dst: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """kornia 0.4.1 ``warp_affine``'s grid matrix for a pixel-space ``src_to_dst`` map (float32 ops as kornia).

    Shape:
        ``src_to_dst``: ``K×2×3`` (float32) → ``K×2×3``
    """
    homography = F.pad(src_to_dst, [0, 0, 0, 1], "constant", value=0.0)
    homography[..., -1, -1] += 1.0
    normal = torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, -1.0], [0.0, 0.0, 1.0]])
    normal[0, 0] = normal[0, 0] * 2.0 / (width - 1.0)
    normal[1, 1] = normal[1, 1] * 2.0 / (height - 1.0)
    normal = normal.unsqueeze(0).to(homography)
    dst_norm_trans_src_norm = normal @ (homography @ torch.inverse(normal))
    return torch.inverse(dst_norm_trans_src_norm)[:, :2, :]


def kornia_rotation(angle_degrees: float, batch: int, height: int, width: int) -> torch.Tensor:
    """kornia 0.4.1 ``get_rotation_matrix2d`` about ``((W-1)/2, (H-1)/2)`` with unit scale, as lucent calls it.

    Shape:
        output ``K×2×3`` (float32)
    """
    angle = torch.ones(batch) * angle_degrees
    scale = torch.ones(batch, 2)
    center = torch.ones(batch, 2)
    center[..., 0] = (width - 1) / 2
    center[..., 1] = (height - 1) / 2
    radians = angle * torch.tensor(3.14159265358979323846) / 180.0
    cos, sin = torch.cos(radians), torch.sin(radians)
    rotation = torch.stack([cos, sin, -sin, cos], dim=-1).view(batch, 2, 2)
    scaling = torch.zeros((2, 2)).fill_diagonal_(1).repeat(batch, 1, 1) * scale.unsqueeze(dim=2).repeat(1, 1, 2)
    scaled_rotation = rotation @ scaling
    alpha, beta = scaled_rotation[:, 0, 0], scaled_rotation[:, 0, 1]
    x, y = center[..., 0], center[..., 1]
    one = torch.tensor(1.0)
    matrix = torch.zeros(batch, 2, 3)
    matrix[..., 0:2, 0:2] = scaled_rotation
    matrix[..., 0, 2] = (one - alpha) * x - beta * y
    matrix[..., 1, 2] = beta * x + (one - alpha) * y
    return matrix


def _translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0, dx], [0, 1.0, dy], [0, 0, 1.0]])


def _about_centre(linear: np.ndarray, height: int, width: int) -> np.ndarray:
    cx, cy = (width - 1) / 2, (height - 1) / 2
    full = np.eye(3)
    full[:2, :2] = linear
    return _translation(cx, cy) @ full @ _translation(-cx, -cy)


# -- transforms ------------------------------------------------------------------
@dataclass(frozen=True)
class Pad:
    """``F.pad`` by ``width`` on every side (lucent ``pad``; constant 0.5 in the standard list)."""

    width: int
    mode: str = "reflect"
    constant_value: float = 0.5

    def __call__(self, images: torch.Tensor, draws: Optional[Draws] = None) -> torch.Tensor:
        if self.mode == "constant":
            return F.pad(images, [self.width] * 4, mode="constant", value=self.constant_value)
        return F.pad(images, [self.width] * 4, mode=self.mode)


@dataclass(frozen=True)
class Jitter:
    """Shift by 0…``d``−1 pixels in x and y (lucent ``jitter``)."""

    d: int

    def __call__(self, images: torch.Tensor, draws: Optional[Draws] = None) -> torch.Tensor:
        draws = draws or LucentDraws()
        batch, _, height, width = images.shape
        dx = draws.choice(range(self.d), batch)
        dy = draws.choice(range(self.d), batch)
        if draws.lucent:
            translation = torch.tensor([[dx[0], dy[0]]]).float()
            matrix = torch.eye(3).repeat(1, 1, 1)
            matrix[..., 0, 2:3] += translation[:, 0:1]
            matrix[..., 1, 2:3] += translation[:, 1:2]
            theta = kornia_theta(matrix[..., :2, :3].expand(batch, -1, -1), height, width)
            return _sample(images, theta)
        return _sample(images, exact_theta(self.maps(images.shape, draws, dx, dy), height, width))

    def maps(self, shape, draws: Draws, dx=None, dy=None) -> np.ndarray:
        """Per-element output→source pixel maps (``K×3×3``), drawing unless given."""
        if dx is None:
            dx, dy = draws.choice(range(self.d), shape[0]), draws.choice(range(self.d), shape[0])
        return np.stack([_translation(-float(x), -float(y)) for x, y in zip(dx, dy)])


@dataclass(frozen=True)
class RandomScale:
    """Scale by a factor drawn from ``scales`` (lucent ``random_scale``)."""

    scales: tuple

    def __call__(self, images: torch.Tensor, draws: Optional[Draws] = None) -> torch.Tensor:
        draws = draws or LucentDraws()
        batch, _, height, width = images.shape
        factors = draws.choice(self.scales, batch)
        if draws.lucent:
            factor = factors[0]
            size = [int(np.ceil(factor * d)) for d in (height, width)]
            pad_x = max(0, int(np.ceil((width - size[1]) / 2)))
            pad_y = max(0, int(np.ceil((height - size[0]) / 2)))
            resized = F.interpolate(images, size=size, mode="bilinear", align_corners=True)
            return F.pad(resized, [pad_y, pad_x] * 2)
        return _sample(images, exact_theta(self.maps(images.shape, draws, factors), height, width))

    def maps(self, shape, draws: Draws, factors=None) -> np.ndarray:
        """Per-element output→source pixel maps (``K×3×3``), drawing unless given."""
        factors = draws.choice(self.scales, shape[0]) if factors is None else factors
        return np.stack([_about_centre(np.eye(2) / float(s), shape[-2], shape[-1]) for s in factors])


@dataclass(frozen=True)
class RandomRotate:
    """Rotate by an angle (degrees) drawn from ``angles`` about the centre (lucent ``random_rotate``)."""

    angles: tuple

    def __call__(self, images: torch.Tensor, draws: Optional[Draws] = None) -> torch.Tensor:
        draws = draws or LucentDraws()
        batch, _, height, width = images.shape
        angles = draws.choice(self.angles, batch)
        if draws.lucent:
            theta = kornia_theta(kornia_rotation(angles[0], batch, height, width), height, width)
            return _sample(images, theta)
        return _sample(images, exact_theta(self.maps(images.shape, draws, angles), height, width))

    def maps(self, shape, draws: Draws, angles=None) -> np.ndarray:
        """Per-element output→source pixel maps (``K×3×3``), drawing unless given."""
        angles = draws.choice(self.angles, shape[0]) if angles is None else angles
        maps = []
        for degrees in angles:
            radians = math.radians(float(degrees))
            # kornia's positive angle turns the image counter-clockwise on screen; the map below is its inverse
            rotation = np.array([[math.cos(radians), -math.sin(radians)], [math.sin(radians), math.cos(radians)]])
            maps.append(_about_centre(rotation, shape[-2], shape[-1]))
        return np.stack(maps)


Transform = Callable[..., torch.Tensor]


def pad(w: int, mode: str = "reflect", constant_value: float = 0.5) -> Pad:
    return Pad(int(w), mode, constant_value)


def jitter(d: int) -> Jitter:
    if not isinstance(d, (int, np.integer)) or d < 2:
        raise DeepDreamError("deepdreamport:optvis:BadTransform", f"jitter: d must be an integer > 1; got {d!r}.")
    return Jitter(int(d))


def random_scale(scales: Sequence[float]) -> RandomScale:
    return RandomScale(tuple(scales))


def random_rotate(angles: Sequence[float], units: str = "degrees") -> RandomRotate:
    """Angles in degrees, or in radians with ``units="radians"`` (lucent's ``units``)."""
    if str(units).lower() in ("radians", "rads", "rad"):
        angles = [angle * 180.0 / np.pi for angle in angles]
    elif str(units).lower() != "degrees":
        raise DeepDreamError(
            "deepdreamport:optvis:BadTransform", f"random_rotate: units must be 'degrees' or 'radians'; got {units!r}."
        )
    return RandomRotate(tuple(angles))


def normalize() -> Callable[[torch.Tensor], torch.Tensor]:
    """lucent's ``normalize()``: ImageNet normalisation (what ``preprocess=True`` adds for torch modules)."""
    return imagenet_normalize


def preprocess_inceptionv1() -> Callable[[torch.Tensor], torch.Tensor]:
    """lucent's ``preprocess_inceptionv1()``: 0–1 → Lucid's InceptionV1 range −117…138."""
    return lambda images: images * 255 - 117


class TransformList(list):
    """lucent's ``standard_transforms`` is a list (``transforms=transform.standard_transforms``,
    ``standard_transforms + [...]``); this package called it. This list is both: calling it returns a copy.
    The transforms hold no state, so the list may be shared."""

    def __call__(self) -> list:
        return list(self)


standard_transforms = TransformList(
    [
        pad(12, mode="constant", constant_value=0.5),
        jitter(8),
        random_scale([1 + (i - 5) / 50.0 for i in range(11)]),
        random_rotate(list(range(-10, 11)) + 5 * [0]),
        jitter(4),
    ]
)
"""lucent's ``standard_transforms``: pad 12 (0.5), jitter 8, scale 0.90–1.10 by 0.02, rotate ±10° (+5 zeros), jitter 4."""


GEOMETRIC = (Jitter, RandomScale, RandomRotate)


def compose(
    transforms: Sequence[Transform], draws: Optional[Draws] = None, fuse: bool = True
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Apply ``transforms`` in order; the package's transforms get ``draws``, plain callables only the images.

    Without ``draws`` (lucent's ``compose(transforms)``), transforms draw as lucent does (:class:`LucentDraws`).

    With per-element draws (and ``fuse``), consecutive jitters, scales and rotations
    are one resampling: their maps are multiplied (the draws are taken in the same
    order), so the image is interpolated once instead of once per transform.
    """

    draws = draws or LucentDraws()

    def inner(images: torch.Tensor) -> torch.Tensor:
        pending = None
        for transform in transforms:
            if fuse and not draws.lucent and isinstance(transform, GEOMETRIC):
                maps = transform.maps(images.shape, draws)
                pending = maps if pending is None else pending @ maps
                continue
            if pending is not None:
                images, pending = _sample(images, exact_theta(pending, images.shape[-2], images.shape[-1])), None
            if isinstance(transform, (Pad,) + GEOMETRIC):
                images = transform(images, draws)
            else:
                images = transform(images)
        if pending is not None:
            images = _sample(images, exact_theta(pending, images.shape[-2], images.shape[-1]))
        return images

    return inner


def _number(value: Optional[str], default: float, name: str, low: float, high: float, integer: bool) -> float:
    """A transform spec's number (``pad:12``): ``default`` when absent; outside [low, high] is refused."""
    if value is None:
        return default
    number = int(value) if integer else float(value)  # ValueError: not a number (said by from_names)
    if not (math.isfinite(number) and low <= number <= high):
        kind = "an integer" if integer else "a number"
        raise DeepDreamError(
            "deepdreamport:optvis:BadTransform",
            f"transforms: {name}:{value} is out of range; expected {kind} in {low:g}..{high:g}.",
        )
    return number


_BY_NAME = {
    "pad": lambda value: pad(int(_number(value, 12, "pad", 0, 4096, True)), mode="constant", constant_value=0.5),
    "jitter": lambda value: jitter(int(_number(value, 8, "jitter", 1, 4096, True))),
    "scale": lambda value: random_scale(
        [1 + (i - 5) / 50.0 for i in range(11)]
        if value is None
        else np.linspace(1 - (v := _number(value, 0.1, "scale", 0, 0.9, False)), 1 + v, 11).tolist()
    ),
    "rotate": lambda value: random_rotate(list(range(-(r := int(_number(value, 10, "rotate", 0, 180, True))), r + 1))),
}


def from_names(spec: Union[str, Sequence]) -> list:
    """Transforms from a spec: ``"standard"``, ``"none"`` or names with an optional value
    (``"pad:12,jitter:8,scale:0.1,rotate:10"``); transform objects and callables pass through."""
    if spec is None or (isinstance(spec, str) and spec == "standard"):
        return standard_transforms()
    if isinstance(spec, str):
        if spec == "none":
            return []
        spec = [part.strip() for part in spec.split(",") if part.strip()]
    result = []
    for item in spec:
        if not isinstance(item, str):
            if not callable(item):
                raise DeepDreamError(
                    "deepdreamport:optvis:BadTransform",
                    f"transforms: expected transform names or callables; got {item!r}.",
                )
            result.append(item)
            continue
        name, _, value = item.partition(":")
        if name not in _BY_NAME:
            raise DeepDreamError(
                "deepdreamport:optvis:BadTransform",
                f"transforms: unknown transform {name!r}; known: {', '.join(sorted(_BY_NAME))} (or 'standard', 'none').",
            )
        try:
            result.append(_BY_NAME[name](value or None))
        except DeepDreamError:
            raise
        except ValueError:
            raise DeepDreamError(
                "deepdreamport:optvis:BadTransform", f"transforms: {item!r} needs a number after the colon."
            ) from None
    return result

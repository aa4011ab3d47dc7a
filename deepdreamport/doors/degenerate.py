"""Degenerate deep-dream results: images that show nothing of the unit, which ones and why.

No MATLAB counterpart: MATLAB's ``deepDreamImage`` returns these images without a
word. The port keeps MATLAB's numbers (they are what MATLAB's arithmetic gives)
and says so. Three kinds, per image ``k`` of the K raw images
(``OutputScaling='none'``):

* ``not finite``: NaN or Inf in the image. The start image is checked to be finite,
  so the network produced them (an overflow, or a NaN it computes).
* ``unchanged``: the image is the start image carried through the pyramid's
  resizes, to rounding. The update of every iteration is ``lapNorm(gradient)``,
  which normalises each band of the gradient to an RMS of 1 unless the band's RMS is
  below ``1e-8`` (the floor: ``0 / 1e-8 = 0``); so an image is unchanged exactly when
  the gradient was zero (or vanishingly small) at every iteration: the unit does not
  respond to this start image (a ReLU unit that is 0 everywhere passes no gradient).
* ``constant``: max = min. MATLAB's ``'linear'`` scaling computes
  ``d = 1/(max - min)``, ``I = d*X - min*d``: ``1/0 = Inf``, and ``Inf*0`` or
  ``Inf - Inf`` is NaN, so the scaled image is all NaN in MATLAB and here alike;
  with ``'none'`` it is the constant. A black or other all-equal start image whose
  gradient is zero everywhere is both unchanged and constant.

:func:`degenerate_images` is a pure function of the raw images (and, for
``unchanged``, the start image carried through the levels,
:func:`carried_start`); :func:`warn_degenerate` turns its findings into one
:class:`DegenerateImagesWarning` that names the channels in the caller's numbering.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, Sequence

import torch

from ..core.resize import resize_image
from ..errors import bounded, describe_numbers

DEGENERATE_ID = "deepdreamport:deepDreamImage:DegenerateImages"
NOT_FINITE, UNCHANGED, CONSTANT = "not finite", "unchanged", "constant"
UNCHANGED_ROUNDING = 64
"""An image within this many units of rounding (``eps`` of its dtype, relative to its largest
magnitude, at least 1) of the carried start image is unchanged: resizing a batch and one image
can round differently, while one iteration with a gradient moves the image by an RMS of
about 1 per band (``lapNorm``)."""
EXIT_STATUS = 3
"""The command line's exit status when it wrote its files but some images are degenerate."""
CHUNK_ELEMENTS = 1 << 24
"""Images are examined in groups of at most this many elements (bounded temporaries)."""

_REASONS = {
    NOT_FINITE: "NaN or Inf in the image: the network's gradient was not finite (an overflow or a NaN it computes)",
    UNCHANGED: "the result is the start image, unchanged: the gradient was zero at every iteration "
    "(the unit does not respond to this start image)",
    CONSTANT: "the image is constant, so OutputScaling 'linear' divides by zero (1/(max-min)) and gives NaN, "
    "as MATLAB's arithmetic does",
    UNCHANGED + CONSTANT: "the image is constant and unchanged: the gradient was zero everywhere at every "
    "iteration (the unit does not respond to this start image), so OutputScaling 'linear' divides by zero "
    "(1/(max-min)) and gives NaN, as MATLAB's arithmetic does",
}


@dataclass(frozen=True)
class Degenerate:
    """Image ``index`` (0-based position in the batch) is degenerate: ``kinds`` say how, ``reason`` why."""

    index: int
    kinds: tuple[str, ...]

    @property
    def reason(self) -> str:
        return _REASONS["".join(self.kinds)]


class DegenerateImagesWarning(RuntimeWarning):
    """Some images of a deep dream are degenerate; ``findings`` says which (0-based positions) and why."""

    identifier = DEGENERATE_ID

    def __init__(self, message: str, findings: Sequence[Degenerate]):
        super().__init__(message)
        self.message = message
        self.findings = tuple(findings)

    def __str__(self) -> str:
        return self.message


# every degenerate run is reported, not only the first one per call site (the user's own filters come first)
warnings.filterwarnings("always", category=DegenerateImagesWarning, append=True)


def carried_start(start: torch.Tensor, sizes: Sequence[tuple[int, int]]) -> torch.Tensor:
    """The start image as the loop would carry it with a zero gradient: resized to each level's size.

    Shape:
        - start: :math:`(N, C, H, W)`; output: :math:`(N, C, H', W')` at the last level's size

    Example:
        >>> carried_start(torch.ones(1, 1, 4, 4), [(4, 4), (5, 5)]).shape
        torch.Size([1, 1, 5, 5])
    """
    for size in sizes:
        start = resize_image(start, tuple(size))
    return start


def degenerate_images(images: torch.Tensor, start: Optional[torch.Tensor] = None) -> list[Degenerate]:
    """Which of the raw images are degenerate, and how (see the module's description).

    ``images``: the K raw images (``OutputScaling='none'``); ``start``: the start image
    carried through the levels (:func:`carried_start`; one image for all, or one per
    image), or ``None`` to skip the ``unchanged`` test (an atlas that kept no start).

    Shape:
        - images: :math:`(K, C, H, W)`; start: :math:`(1 \\text{ or } K, C, H, W)`

    Example:
        >>> noise = torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(0))
        >>> images = torch.cat([torch.zeros(1, 1, 3, 3), noise, noise + 1, torch.full((1, 1, 3, 3), float("nan"))])
        >>> [(d.index, d.kinds) for d in degenerate_images(images, noise)]
        [(0, ('constant',)), (1, ('unchanged',)), (3, ('not finite',))]
    """
    count = images.shape[0]
    per_image = max(1, images[0].numel())
    step = max(1, CHUNK_ELEMENTS // per_image)
    finite, flat, same = [], [], []
    for first in range(0, count, step):
        block = images[first : first + step].flatten(1)
        finite.append(torch.isfinite(block).all(dim=1))
        low, high = block.aminmax(dim=1)
        flat.append(low == high)
        if start is not None:
            reference = start if start.shape[0] == 1 else start[first : first + step]
            reference = reference.to(block.device, block.dtype).flatten(1)
            scale = reference.abs().amax(dim=1).clamp(min=1)
            tolerance = UNCHANGED_ROUNDING * torch.finfo(block.dtype).eps * scale
            same.append((block - reference).abs().amax(dim=1) <= tolerance)
    finite_all = torch.cat(finite).cpu().tolist()
    flat_all = torch.cat(flat).cpu().tolist()
    same_all = torch.cat(same).cpu().tolist() if same else [False] * count
    found = []
    for k in range(count):
        if not finite_all[k]:
            found.append(Degenerate(k, (NOT_FINITE,)))
            continue
        kinds = tuple(kind for kind, bad in ((UNCHANGED, same_all[k]), (CONSTANT, flat_all[k])) if bad)
        if kinds:
            found.append(Degenerate(k, kinds))
    return found


def describe_degenerate(findings: Sequence[Degenerate], channels: Sequence[int], base: int = 1) -> str:
    """One bounded line: the channels (counted from ``base``) of the degenerate images, grouped by reason.

    ``channels`` are the 0-based channels of the batch, image k maximising ``channels[k]``.

    Example:
        >>> describe_degenerate([Degenerate(0, ("constant",)), Degenerate(2, ("constant",))], [4, 5, 6])[:60]
        '2 of 3 images are degenerate. channels 5, 7 (1-based): the i'
    """
    groups: dict[str, list[int]] = {}
    for finding in findings:
        groups.setdefault(finding.reason, []).append(int(channels[finding.index]) + base)
    numbering = "1-based" if base == 1 else f"{base}-based"
    parts = [
        f"channel{'s' if len(numbers) > 1 else ''} {describe_numbers(numbers)} ({numbering}): {reason}"
        for reason, numbers in groups.items()
    ]
    return bounded(f"{len(findings)} of {len(channels)} images are degenerate. " + "; ".join(parts) + ".")


def warn_degenerate(
    images: torch.Tensor, start: Optional[torch.Tensor], channels: Sequence[int], base: int = 1
) -> list[Degenerate]:
    """Warn (:class:`DegenerateImagesWarning`, one line) when some of ``images`` are degenerate; returns the findings."""
    findings = degenerate_images(images, start)
    if findings:
        message = describe_degenerate(findings, channels, base)
        warnings.warn(DegenerateImagesWarning(message, findings), stacklevel=_first_caller_outside_package())
    return findings


_PACKAGE = str(Path(__file__).resolve().parents[1])


def _first_caller_outside_package() -> int:
    """The ``stacklevel`` that points a warning at the user's line, not at the package's own frames."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


@contextlib.contextmanager
def degenerate_warnings() -> Iterator[list[DegenerateImagesWarning]]:
    """Collect the :class:`DegenerateImagesWarning` of a block (other warnings are shown as usual).

    For the command line, which reports them as one line and an exit status of its own.
    """
    collected: list[DegenerateImagesWarning] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DegenerateImagesWarning)
        yield collected
    for entry in caught:
        if isinstance(entry.message, DegenerateImagesWarning):
            collected.append(entry.message)
        else:  # shown as they would have been outside the block
            warnings.warn_explicit(entry.message, entry.category, entry.filename, entry.lineno, source=entry.source)

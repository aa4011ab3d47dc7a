"""Which image sizes a truncated network accepts, found by probing.

No MATLAB counterpart: MATLAB's importer builds networks whose layers accept
any size at least the receptive field. Exported graphs can need more: a YOLO
``Focus`` slice needs even sides, a concatenation of a strided convolution
(``ceil(n/2)``) with a max pool (``floor(n/2)``) needs sides that stay even
down the strides, a fully connected layer needs the input size exactly. These
constraints come from the graph's stride structure; rather than derive them
for every operator, the network is run once on zeros at a size (no gradient,
one image) and the answer cached.

:class:`SizeProbe` answers "does ``H×W`` work?", and, per side, "which sides
near ``n`` work?" with the other side held at a size known to work (sides are
independent in these networks). A large size is answered side by side, each
side with the other at the reference size, so that a probe never runs the
network on a whole large image (the dream itself runs tiles). It sizes the default initial image
(the receptive field, rounded up to the nearest side that works) and names
the sizes that would work when a pyramid level's size does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Optional

import torch

from ..errors import DeepDreamError

SEARCH = 64
"""How far (pixels) a search for a working side looks on each side of the size asked for."""
WHOLE_PROBE_PIXELS = 1024 * 1024
"""The largest area probed as a whole; a larger ``H×W`` is probed as ``H×reference`` and ``reference×W``."""


@dataclass
class SizeProbe:
    """Cached answers to "does ``module`` accept an ``input_channels``×H×W image?"."""

    module: torch.nn.Module
    input_channels: int
    reference: tuple[int, int]
    """A size known (or expected) to work: the network input size, else the tile."""
    reference_works: bool = False
    """The module already ran at ``reference`` (the probe that built it), so that answer is known."""
    _answers: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.reference_works:
            self._answers[tuple(self.reference)] = True

    def accepts(self, height: int, width: int) -> bool:
        key = (int(height), int(width))
        if key not in self._answers:
            split = key[0] * key[1] > WHOLE_PROBE_PIXELS and key[0] != self.reference[0] and key[1] != self.reference[1]
            self._answers[key] = self.side_works(0, key[0]) and self.side_works(1, key[1]) if split else self._run(*key)
        return self._answers[key]

    def _run(self, height: int, width: int) -> bool:
        parameter = next(self.module.parameters(), None)
        probe = torch.zeros(
            1,
            self.input_channels,
            height,
            width,
            dtype=parameter.dtype if parameter is not None else torch.float32,
            device=parameter.device if parameter is not None else "cpu",
        )
        try:
            with torch.no_grad():
                output = self.module(probe)
        except torch.OutOfMemoryError:  # a RuntimeError too, but not about the size's shape
            raise
        except RuntimeError as exc:  # torch reports every size mismatch (cat, matmul, view, conv) as RuntimeError
            if "same device" in str(exc):  # a device mix-up inside the module is a bug to show, not a size
                raise
            return False
        return not (isinstance(output, torch.Tensor) and output.numel() == 0)  # an empty output is no output

    def side_works(self, axis: int, size: int) -> bool:
        """Whether side ``size`` works on ``axis`` (0 height, 1 width), the other side at the reference size."""
        return self.accepts(size, self.reference[1]) if axis == 0 else self.accepts(self.reference[0], size)

    def next_side(self, axis: int, size: int) -> Optional[int]:
        """The smallest working side ≥ ``size`` within :data:`SEARCH` pixels, or ``None``."""
        return next((n for n in range(size, size + SEARCH + 1) if self.side_works(axis, n)), None)

    def sides_near(self, axis: int, size: int, count: int = 3) -> list[int]:
        """Up to ``count`` working sides below ``size`` and ``count`` above it (within :data:`SEARCH`)."""
        below = (n for n in range(size - 1, max(0, size - SEARCH), -1) if self.side_works(axis, n))
        above = (n for n in range(size + 1, size + SEARCH + 1) if self.side_works(axis, n))
        return sorted(islice(below, count)) + list(islice(above, count))

    def valid_initial_size(self, height: int, width: int) -> tuple[int, int]:
        """``height×width`` if it works, else each side rounded up to the nearest side that works."""
        if self.accepts(height, width):
            return height, width
        rounded = (self.next_side(0, height), self.next_side(1, width))
        if None in rounded or not self.accepts(*rounded):  # type: ignore[arg-type]
            return height, width  # nothing better found: the check of the level sizes explains
        return rounded  # type: ignore[return-value]

    def check(
        self,
        height: int,
        width: int,
        layer: str,
        what: str,
        identifier: str = "deepdreamport:deepDreamImage:InvalidImageSize",
    ) -> None:
        """Raise one clear error when the network cannot take an ``height×width`` input (``what`` says why that size)."""
        if self.accepts(height, width):
            return
        heights = self.sides_near(0, height) if not self.side_works(0, height) else [height]
        widths = self.sides_near(1, width) if not self.side_works(1, width) else [width]

        def listed(values: list[int]) -> str:
            return ", ".join(map(str, values)) if values else f"none within ±{SEARCH}"

        raise DeepDreamError(
            identifier,
            f"{what} is {height}×{width}, a size the network up to layer {layer!r} cannot take. "
            f"Heights that work near it: {listed(heights)}; "
            f"widths: {listed(widths)} (searched with the other side at {self.reference[0]}×{self.reference[1]}).",
        )

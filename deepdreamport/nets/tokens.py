"""A transformer's token layer (N×tokens×features) read as a map of channels, for ``render`` and the atlas.

No MATLAB counterpart (``deepDreamImage`` has no token layers, and the deep-dream doors
refuse them) and no lucent convention (lucent hooks convolutional networks). The rule
here, for a layer whose output is ``N×T×F`` (the batch first, as batch-first
transformers and ViT exports write it):

* the features are the channels: channel ``f`` is feature ``f``;
* when ``T`` is a square ``h·h``, the tokens are an ``h×h`` grid (the patches, row by
  row, as a patch embedding flattens them);
* when ``T`` is ``1 + h·h`` (``T`` > 1), the first token is the class token and the
  other ``h·h`` are the grid; the class token is left out of the map, so a channel
  objective is feature ``f`` averaged over the spatial (patch) tokens only. Ghiasi et
  al. 2022, "What do vision transformers learn? A visual exploration", visualise a
  feature of the feed-forward hidden layer averaged over the patch tokens in the same
  way;
* any other ``T``: no grid; every token is kept (a channel is feature ``f``
  averaged over all tokens) and the map is ``N×F×T`` (3-D), on which objectives that
  name a position (``neuron``, ...) are refused.

Shape:
    ``N×T×F`` → ``N×F×h×w`` (a grid) or ``N×F×T`` (none); other ranks pass unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, TypeVar

from ..errors import DeepDreamError

Array = TypeVar("Array")  # a torch tensor or a NumPy array


@dataclass(frozen=True)
class TokenGrid:
    """How ``tokens`` tokens sit: ``skip`` leading (class) tokens, then a ``side``×``side`` grid (``side`` 0: none)."""

    tokens: int
    skip: int
    side: int

    @property
    def has_grid(self) -> bool:
        return self.side > 0

    def describe(self) -> str:
        """``"1 class token + 14×14 patch tokens"`` / ``"17 tokens (no square grid)"``."""
        if not self.has_grid:
            return f"{self.tokens} tokens (no square grid: 1 + h·h or h·h)"
        grid = f"{self.side}×{self.side} patch tokens"
        return f"1 class token + {grid}" if self.skip else grid


def token_grid(tokens: int) -> TokenGrid:
    """The grid of ``tokens`` tokens: all of them when square, all but the first when ``tokens - 1`` is, else none.

    Example:
        >>> token_grid(197), token_grid(196), token_grid(50)
        (TokenGrid(tokens=197, skip=1, side=14), TokenGrid(tokens=196, skip=0, side=14), TokenGrid(tokens=50, skip=1, side=7))
        >>> token_grid(12).has_grid
        False
    """
    side = math.isqrt(tokens)
    if side * side == tokens:
        return TokenGrid(tokens, 0, side)
    side = math.isqrt(tokens - 1)
    if tokens > 1 and side * side == tokens - 1:
        return TokenGrid(tokens, 1, side)
    return TokenGrid(tokens, 0, 0)


def tokens_as_channels(activations: Array, layer: str, batch: Optional[int] = None) -> Array:
    """A ``N×T×F`` token layer's activations as ``N×F×h×w`` (or ``N×F×T``, no grid); other ranks unchanged.

    Works on torch tensors (the gradient flows through) and NumPy arrays. ``batch``: the
    number of images that entered; a first axis of another length (a sequence-first
    ``T×N×F`` layer) is refused in one line.
    """
    if len(activations.shape) != 3:
        return activations
    count, tokens, features = (int(side) for side in activations.shape)
    if batch is not None and count != batch:
        raise DeepDreamError(
            "deepdreamport:optvis:TokenLayout",
            f"layer: {layer!r} outputs {tuple(activations.shape)} for {batch} image(s); a token layer must be "
            "N×tokens×features with the batch first (a sequence-first T×N×F layer cannot be read); choose "
            "a layer with the batch first.",
        )
    grid = token_grid(tokens)
    channels_first = activations.swapaxes(1, 2)  # N×F×T
    if not grid.has_grid:
        return channels_first
    return channels_first[:, :, grid.skip :].reshape(count, features, grid.side, grid.side)

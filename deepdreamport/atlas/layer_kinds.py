"""What a layer outputs, in the terms a recipe states what it takes (no MATLAB counterpart).

MATLAB's ``deepDreamImage`` (the matlab recipe, through the deep-dream doors) takes a layer
whose output is N×C×H×W or N×C; optvis (lucid, maco, diversity) takes those and a
transformer's batch-first token layer, N×T×F (:mod:`deepdreamport.nets.tokens`). A layer's
kind is read from its ONNX output shape for one image (the layer table's ``output_shape``),
so an atlas can leave out, before it starts, the (unit, recipe) pairs that would only fail.

Kinds, from the output shape for one image:

* ``spatial``: rank 4, N×C×H×W (the table shows H×W×C);
* ``fully connected``: rank 2, N×C (the table shows 1×1×C);
* ``tokens``: rank 3 with the batch first, N×T×F (the table shows T×F), produced by a matrix
  product, a layer normalisation or attention (:mod:`deepdreamport.nets.layout`; an atlas
  recorded before layouts were, rank 3 alone);
* ``1-D convolutional``: rank 3, N×C×L, produced by a 1-D convolution, pooling or batch
  normalisation (the row's ``layout`` is ``channels``; the table shows 1×L×C); optvis reads
  channel c as index c of axis 1 averaged over L;
* ``other``: anything else (rank 5, a sequence-first T×N×F layer, a rank-3 layer whose layout
  what produced it does not tell, ...), and any shape whose first
  dimension, for one image, is not 1: the batch is not first (an attention block's internal
  ``17×1×3×16`` or ``17×16``), so no recipe can read one image's channels from it.

Without a recorded shape (an older atlas, a size shape inference could not give) the table's
H×W×C or T×F size decides between spatial and tokens.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence

SPATIAL = "spatial"
FULLY_CONNECTED = "fully connected"
TOKENS = "tokens"
CONVOLUTION_1D = "1-D convolutional"
OTHER = "other"
LAYER_KINDS = frozenset({SPATIAL, FULLY_CONNECTED, TOKENS, CONVOLUTION_1D, OTHER})
"""Every kind: what a recipe that states nothing takes (it is tried on every layer)."""

_SHAPES = {
    SPATIAL: "N×C×H×W",
    FULLY_CONNECTED: "N×C",
    TOKENS: "N×tokens×features",
    CONVOLUTION_1D: "N×C×L",
}
_ORDER = (SPATIAL, FULLY_CONNECTED, TOKENS, CONVOLUTION_1D, OTHER)
_WORDS = {SPATIAL: "spatial", FULLY_CONNECTED: "fully connected", TOKENS: "token", CONVOLUTION_1D: "1-D convolutional"}


def _field(row: Any, name: str) -> Any:
    return row.get(name) if isinstance(row, Mapping) else getattr(row, name, None)


def layer_kind(row: Any) -> str:
    """The kind of a layer-table row (a :class:`~deepdreamport.nets.layers.Layer` or the atlas's recorded dict).

    Example:
        >>> layer_kind({"output_shape": [1, 17, 16], "output_size": [17, 16]})
        'tokens'
        >>> layer_kind({"output_shape": [17, 1, 16], "output_size": [1, 16]})
        'other'
        >>> layer_kind({"output_shape": [17, 1, 3, 16], "output_size": [3, 16, 1]})
        'other'
        >>> layer_kind({"output_shape": [1, 5, 256], "output_size": [1, 256, 5], "layout": "channels"})
        '1-D convolutional'
        >>> layer_kind({"output_shape": [1, 5, 256], "output_size": [5, 256], "layout": "unknown"})
        'other'
        >>> layer_kind({"output_size": [7, 7, 6]})
        'spatial'
    """
    shape: Sequence[Optional[int]] = tuple(_field(row, "output_shape") or ())
    if shape:
        if shape[0] not in (1, None):  # the batch is not the first dimension
            return OTHER
        if len(shape) == 4:
            return SPATIAL
        if len(shape) == 2:
            return FULLY_CONNECTED
        if len(shape) == 3:
            layout = _field(row, "layout")
            if layout == "channels":
                return CONVOLUTION_1D
            return TOKENS if layout in ("tokens", None, "") else OTHER
        return OTHER
    size = tuple(_field(row, "output_size") or ())
    if len(size) == 3:
        return FULLY_CONNECTED if tuple(size[:2]) == (1, 1) else SPATIAL
    return TOKENS if len(size) == 2 else OTHER


def describe_layer(row: Any) -> str:
    """``"a token layer (N×tokens×features)"``; ``other`` names the shape."""
    kind = layer_kind(row)
    if kind == OTHER:
        shape = tuple(_field(row, "output_shape") or ())
        shown = "×".join("?" if s is None else str(s) for s in shape) if shape else "unknown"
        return f"a layer of output shape {shown} (not N×C×H×W, N×C, N×C×L or a batch-first N×tokens×features)"
    return f"a {_WORDS[kind]} layer ({_SHAPES[kind]})"


def describe_kinds(kinds: Iterable[str]) -> str:
    """``{"spatial", "fully connected"}`` → ``"spatial (N×C×H×W) and fully connected (N×C) layers"``."""
    chosen = [kind for kind in _ORDER if kind in set(kinds)]
    if set(chosen) == LAYER_KINDS:
        return "layers of every kind"
    words = [f"{_WORDS[kind]} ({_SHAPES[kind]})" if kind in _SHAPES else "other" for kind in chosen]
    joined = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
    return f"{joined} layers"


def count_layers(count: int, kind: str) -> str:
    """``(14, "tokens")`` → ``"14 token layers"``; ``(1, "other")`` → ``"1 layer of another output shape"``."""
    if kind == OTHER:
        return f"{count} layer of another output shape" if count == 1 else f"{count} layers of other output shapes"
    return f"{count} {_WORDS[kind]} layer{'s' if count != 1 else ''}"

"""Which units an atlas covers: layers × channels from the layer table, optionally one shard of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

from ._package import DeepDreamError, layer_from_text
from .errors import AtlasInputError

# Layers with nothing to visualise: the network's input.
_NOT_VISUALISABLE = {"Image Input"}


class SelectionError(AtlasInputError):
    """A selection that names no unit or something that does not exist (message names the argument)."""


@dataclass(frozen=True)
class Unit:
    """One channel (1-based, as on the command line and in MATLAB) of one layer."""

    layer: str
    layer_index: int  # 1-based row of the layer table
    layer_type: str
    channel: int


def parse_shard(spec: Optional[str]) -> tuple[int, int]:
    """``"I/N"`` (1 ≤ I ≤ N) → ``(I, N)``; ``None`` → ``(1, 1)``."""
    if spec is None:
        return 1, 1
    try:
        index, count = (int(part) for part in str(spec).split("/"))
    except ValueError:
        raise SelectionError(
            f"expected I/N with integers 1 <= I <= N (for example 2/4); got {spec!r}", "shard"
        ) from None
    if count < 1 or not 1 <= index <= count:
        raise SelectionError(f"expected I/N with 1 <= I <= N; got {spec!r}", "shard")
    return index, count


def layer_names(spec: Union[None, str, Sequence[str]]) -> Optional[list[str]]:
    """``'all'``/``None`` → ``None``; comma-separated names or a sequence of names → the names."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "all"):
        return None
    if isinstance(spec, str):
        names = [name.strip() for name in spec.split(",") if name.strip()]
    elif isinstance(spec, (list, tuple)) and all(isinstance(name, str) for name in spec):
        names = [name.strip() for name in spec if name.strip()]
    else:
        raise SelectionError(
            f"expected 'all', comma-separated layer names or a list of names; got {spec!r}"[:300], "layers"
        )
    if not names:
        raise SelectionError("no layer named; give comma-separated layer names (or a list of names) or 'all'", "layers")
    return names


def _row_name(text: str, layer_rows: Sequence) -> str:
    """A ``--layers`` entry by the command line's layer rule: an exact name, else a row (``12``, ``#12``)."""
    try:
        layer = layer_from_text(text, [row.name for row in layer_rows], "--layers")
    except DeepDreamError as exc:
        raise SelectionError(str(exc).removeprefix("--layers: "), "layers") from None
    if isinstance(layer, str):
        return layer
    if not 1 <= layer <= len(layer_rows):
        raise SelectionError(f"row {layer} is out of range; the layer table has rows 1..{len(layer_rows)}", "layers")
    return layer_rows[layer - 1].name


def select_units(
    layer_rows: Sequence,
    layers: Union[None, str, Sequence[str]] = "all",
    channels: Optional[Sequence[int]] = None,
    shard: tuple[int, int] = (1, 1),
) -> list[Unit]:
    """The units of ``layers`` (comma-separated names, a list of names, or ``'all'``) × ``channels`` (1-based; ``None`` = all).

    ``layer_rows`` is the layer table (``.index``, ``.name``, ``.type``, ``.output_size`` H×W×C).
    Channels beyond a layer's count are left out for ``'all'`` layers; for a named layer they are an error.
    ``shard=(I, N)`` keeps every N-th unit starting at the I-th.
    """
    by_name = {row.name: row for row in layer_rows}
    wanted = layer_names(layers)
    if wanted is None:
        chosen = [row for row in layer_rows if row.type not in _NOT_VISUALISABLE]
    else:
        wanted = [_row_name(text, layer_rows) for text in wanted]
        unknown = [name for name in wanted if name not in by_name]
        if unknown:
            raise SelectionError(
                f"unknown layer{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                "see `deepdream layers MODEL` for the names and rows",
                "layers",
            )
        chosen = [by_name[name] for name in dict.fromkeys(wanted)]
        inputs = [row.name for row in chosen if row.type in _NOT_VISUALISABLE]
        if inputs:
            raise SelectionError(
                f"{', '.join(map(repr, inputs))} is the network's input; it has no units to visualise", "layers"
            )
    if channels is not None and len(channels) == 0:
        raise SelectionError("the selection is empty", "channels")
    if channels is not None and any(c < 1 for c in channels):
        raise SelectionError(f"channels are 1-based; got {min(channels)}", "channels")
    units: list[Unit] = []
    for row in sorted(chosen, key=lambda r: r.index):
        count = int(row.output_size[-1])
        numbers = range(1, count + 1) if channels is None else sorted(set(channels))
        if wanted is not None and channels is not None and max(numbers) > count:
            raise SelectionError(f"layer {row.name!r} has {count} channels; got {max(numbers)}", "channels")
        units.extend(Unit(row.name, int(row.index), str(row.type), c) for c in numbers if c <= count)
    if not units:
        raise SelectionError("the selection is empty (no selected layer has those channels)", "channels")
    index, count = shard
    units = units[index - 1 :: count]
    if not units:
        raise SelectionError(
            f"shard {index}/{count} holds no unit (the selection has fewer units than shards)", "shard"
        )
    return units


def layer_slug(layer_index: int, layer: str) -> str:
    """A file-name-safe, unique name for a layer (its table index keeps names like ``a/b`` and ``a_b`` apart)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in layer)
    return f"{layer_index:03d}_{safe}"

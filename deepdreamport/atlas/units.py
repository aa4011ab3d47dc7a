"""Which units an atlas covers: layers × channels from the layer table, optionally one shard of them, and
which recipe renders each (:func:`recipe_pairs`: only those that take the unit's layer)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Optional, Sequence, Union

from ._package import DeepDreamError, layer_from_text
from .errors import AtlasInputError
from .layer_kinds import count_layers, describe_layer, layer_kind
from .recipes import RECIPES, get_recipe

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


@dataclass(frozen=True)
class LeftOut:
    """The selected units of ``layers`` (``(name, kind)``, :mod:`.layer_kinds`) that ``recipe`` cannot take."""

    recipe: str
    layers: tuple[tuple[str, str], ...]
    units: int

    def line(self) -> str:
        """``"recipe 'matlab' leaves out 14 layers, 28 units (14 token layers): it takes ... only (...)"``."""
        kinds = Counter(kind for _, kind in self.layers)
        what = ", ".join(count_layers(count, kind) for kind, count in kinds.items())
        return (
            f"recipe {self.recipe!r} leaves out {len(self.layers)} layer{'s' if len(self.layers) != 1 else ''}, "
            f"{self.units} unit{'s' if self.units != 1 else ''} ({what}): it {get_recipe(self.recipe).takes_line()}"
        )


def recipe_pairs(
    units: Sequence[Unit], recipes: Sequence[str], layer_rows: Sequence, named: bool
) -> tuple[list[tuple[Unit, str]], list[LeftOut]]:
    """The (unit, recipe) pairs to render, in unit then recipe order: each unit with each recipe that takes its layer.

    ``named``: the layers were named (``--layers NAME``); one that no chosen recipe takes is refused
    (:class:`SelectionError` naming the layer, its kind and the recipes that take it). For
    ``'all'`` such layers are left out. Returns the pairs and, per recipe, what it leaves out.
    """
    by_name = {row.name: row for row in layer_rows}
    chosen = [get_recipe(name) for name in recipes]
    takers = {
        layer: [recipe.name for recipe in chosen if recipe.takes(by_name[layer])] for layer in {u.layer for u in units}
    }
    if named:
        for layer in dict.fromkeys(u.layer for u in units):
            if takers[layer]:
                continue
            others = [name for name, recipe in RECIPES.items() if recipe.takes(by_name[layer])]
            where = (
                f"--recipe {others[0]} takes it" + (f" (or {', '.join(others[1:])})" if others[1:] else "")
                if others
                else "no recipe takes it"
            )
            cannot = (
                f"recipe {recipes[0]!r} cannot" if len(recipes) == 1 else f"none of {', '.join(map(repr, recipes))} can"
            )
            raise SelectionError(
                f"layer {layer!r} is {describe_layer(by_name[layer])}, which {cannot} take; {where}", "layers"
            )
    pairs = [(unit, name) for unit in units for name in takers[unit.layer]]
    left_out = []
    for recipe in recipes:
        layers = [layer for layer in dict.fromkeys(u.layer for u in units) if recipe not in takers[layer]]
        if layers:
            count = sum(1 for u in units if u.layer in set(layers))
            left_out.append(LeftOut(recipe, tuple((layer, layer_kind(by_name[layer])) for layer in layers), count))
    if not pairs:
        raise SelectionError("the selection is empty: " + "; ".join(entry.line() for entry in left_out), "layers")
    return pairs, left_out

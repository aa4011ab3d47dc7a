"""How the command line names layers and channels: names first, rows and channels counted from 1.

Every command that takes a layer on the command line (``dream --layer``,
``render --objective LAYER:C``, ``atlas --layers``, ``parity record --layer``)
reads it with :func:`layer_from_text`, and every 1-based channel number with
:func:`channel_index`; the Python API counts both from 0 and never reads a
string as a number (an ``int`` is an index, a ``str`` a name).

The layer rule. ONNX node names are often numbers (``265`` in older PyTorch
exports), so a text is read as follows:

* ``#N``: row N of ``deepdream layers`` (1-based);
* a text that is exactly a layer's name: that layer, unless it is also a valid
  row number naming a *different* layer: then both readings are named and the
  text is refused (``#N`` picks the row; the named layer's own ``#row`` picks it);
* any other whole number N: row N;
* anything else: a name, which the network then looks up (unknown names are
  refused with the nearest ones).

Standard library only (the atlas and parity commands use it too).
"""

from __future__ import annotations

from typing import Sequence, Union

from ..errors import DeepDreamError

ROW_MARK = "#"
"""``#12`` is row 12 of the layer table, whatever the layers are named."""
AMBIGUOUS_LAYER = "deepdreamport:cli:AmbiguousLayer"
BAD_CHANNEL = "nnet_cnn:deepDreamImage:InvalidChannels"


def _row_number(text: str) -> Union[int, None]:
    digits = text[len(ROW_MARK) :] if text.startswith(ROW_MARK) else text
    digits = digits.strip()
    return int(digits) if digits.isdigit() and digits.isascii() else None


def layer_from_text(text: str, names: Sequence[str], option: str) -> Union[str, int]:
    """A command-line layer reference → the layer's name (``str``) or a 1-based row number (``int``).

    ``names``: the layer table's names in row order (row 1 is ``names[0]``, the
    input layer). A row number is returned as given (the network checks its
    range with its own message, e.g. row 1 is the input layer).

    Example:
        >>> layer_from_text("12", ["data", "conv"], "--layer")  # no layer named "12": row 12
        12
        >>> layer_from_text("2", ["data", "conv", "2"], "--layer")  # "2" names row 3, row 2 is "conv"
        Traceback (most recent call last):
        ...
        deepdreamport.errors.DeepDreamError: --layer: '2' is ambiguous: the layer named '2' (row 3) or row 2 (layer 'conv'); write #3 for the first or #2 for the second
    """
    text = str(text)
    if not text.strip():
        raise DeepDreamError("nnet_cnn:deepDreamImage:InvalidLayer", f"{option}: the layer name is empty")
    row = _row_number(text)
    if text in names:
        named_row = names.index(text) + 1
        if row is not None and 1 <= row <= len(names) and row != named_row:
            raise DeepDreamError(
                AMBIGUOUS_LAYER,
                f"{option}: {text!r} is ambiguous: the layer named {text!r} (row {named_row}) or row {row} "
                f"(layer {names[row - 1]!r}); write {ROW_MARK}{named_row} for the first or {ROW_MARK}{row} for "
                "the second",
            )
        return text
    if row is not None:
        return row
    return text


def layer_name_from_text(text: str, names: Sequence[str], option: str) -> str:
    """:func:`layer_from_text`, rows turned into names (a row outside the table is refused, naming the range)."""
    layer = layer_from_text(text, names, option)
    if isinstance(layer, str):
        return layer
    if not 1 <= layer <= len(names):
        raise DeepDreamError(
            "nnet_cnn:deepDreamImage:InvalidLayer",
            f"{option}: row {layer} is out of range; the layer table (`deepdream layers MODEL`) has rows "
            f"1..{len(names)}",
        )
    return names[layer - 1]


def channel_index(channel: int, option: str, context: str = "") -> int:
    """A 1-based command-line channel → the 0-based index; 0 and negative numbers are refused."""
    if channel < 1:
        where = f" in {context!r}" if context else ""
        raise DeepDreamError(
            BAD_CHANNEL,
            f"{option}: channel {channel}{where} is not a channel; the command line counts channels from 1 "
            "(the Python API counts from 0)",
        )
    return channel - 1

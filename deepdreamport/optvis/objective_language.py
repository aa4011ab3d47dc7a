"""The objective language of ``deepdream render --objective``: the Python API's objectives as text.

Parsed by recursive descent (no ``eval``) into :mod:`.objectives` objects.
Every index on the command line counts from 1 (channels and positions, as
``deepdream dream`` and ``atlas``; the Python API counts from 0). Grammar::

    objectives := expression ("," expression)*     one per batch element (a single one: the whole batch)
    expression := term (("+" | "-") term)*
    term       := factor (("*" | "/") factor)*
    factor     := ("-" | "+") factor | NUMBER | "(" expression ")" | unit | call
    unit       := LAYER ":" INDEX                  the channel objective: minus the channel's mean
    call       := NAME "(" [argument ("," argument)*] ")"

``LAYER`` is a layer name of the network (the longest that matches, so names
may hold ``/ . - :``), or any name in quotes (``'a name':3``); ``NUMBER`` is a
decimal number (``1e2``, ``0.5``); ``INDEX``, ``X``, ``Y``, ``WX``, ``WY`` are
integers from 1; ``FILE`` is a ``.npy`` file holding one number per channel
(quoted, or up to the next ``,`` or ``)``). The calls::

    channel(LAYER:C)            neuron(LAYER:C[, X, Y])      deepdream(LAYER:C)
    direction(LAYER, FILE)      direction_neuron(LAYER, FILE[, X, Y])
    channel_weight(LAYER, FILE) neuron_weight(LAYER, FILE[, X, Y])
    localgroup_weight(LAYER, FILE, X, Y[, WX, WY])
    diversity(LAYER)            alignment(LAYER[, DECAY])
    channel_interpolate(LAYER:C, LAYER:C)
    L1([LAYER])  L2([LAYER])  total_variation([LAYER])  blur([LAYER])   (default: the input image)

Like the Python API, objectives are losses (the optimiser lowers them):
``relu2:3 - 1e2*diversity(relu2)`` is lucent's ``channel - 1e2 * diversity``;
penalties are positive (``relu2:3 + 0.01*total_variation()``). Bad text is one
line naming the column and what was expected.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from . import objectives as o
from ._network import DeepDreamError, layer_name_from_text

NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
INTEGER = re.compile(r"\d+")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LAYER_ENDS = set(",)") | set(" \t")
ARGUMENT = "--objective"


@dataclass(frozen=True)
class Parsed:
    """One expression: its text, its objective and the image's label.

    The label of a lone unit names its layer and 1-based channel as ``deepdream dream``'s montage
    does (``conv2 ch 1``, also when the text named the layer by its row, ``#4:1``); else the text.
    """

    text: str
    objective: o.Objective
    label: str = ""


class _Parser:
    def __init__(
        self,
        text: str,
        layer_names: Sequence[str],
        channels_of: Optional[Callable[[str], int]],
        load_vector: Callable[[str], np.ndarray],
        rows: Optional[Sequence[str]] = None,
    ):
        self.text = text
        self.at = 0
        self.rows = None if rows is None else list(rows)  # the layer table in row order: row 1 is rows[0]
        self.layers = sorted(set(layer_names) | {"input"}, key=len, reverse=True)  # longest match first
        self.channels_of = channels_of
        self.load_vector = load_vector
        self.units: list[tuple[str, int, int, int]] = []  # (layer, 0-based channel, start, end) of the expression

    # -- reading -------------------------------------------------------------------
    def fail(self, expected: str, at: Optional[int] = None) -> DeepDreamError:
        at = self.at if at is None else at
        rest = self.text[at : at + 20]
        found = f"found {rest!r}" if rest else "found the end"
        return DeepDreamError(
            "deepdreamport:optvis:BadObjective", f"{ARGUMENT}: at column {at + 1}: expected {expected}; {found}."
        )

    def space(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def peek(self, symbol: str) -> bool:
        self.space()
        return self.text.startswith(symbol, self.at)

    def take(self, symbol: str) -> bool:
        if self.peek(symbol):
            self.at += len(symbol)
            return True
        return False

    def expect(self, symbol: str, what: str) -> None:
        if not self.take(symbol):
            raise self.fail(what)

    def number(self) -> Optional[float]:
        self.space()
        match = NUMBER.match(self.text, self.at)
        if match is None:
            return None
        self.at = match.end()
        return float(match.group(0))

    def index(self, what: str) -> int:
        """A 1-based integer → 0-based."""
        self.space()
        start = self.at
        match = INTEGER.match(self.text, self.at)
        if match is None:
            raise self.fail(f"{what} (an integer from 1)")
        self.at = match.end()
        value = int(match.group(0))
        if value < 1:
            raise self.fail(f"{what} counted from 1 on the command line (got 0)", start)
        return value - 1

    def layer(self, followed_by: str) -> Optional[str]:
        """A quoted name, or the longest known layer name here followed by one of ``followed_by``."""
        self.space()
        if self.at < len(self.text) and self.text[self.at] in "'\"":
            quote = self.text[self.at]
            end = self.text.find(quote, self.at + 1)
            if end < 0:
                raise self.fail(f"a closing {quote}")
            name = self.text[self.at + 1 : end]
            self.at = end + 1
            return name
        row = (
            None
            if self.rows is None
            else re.compile(rf"#?\d+(?=[{re.escape(''.join(sorted(followed_by)))}])").match(self.text, self.at)
        )
        for name in self.layers:
            end = self.at + len(name)
            if self.text.startswith(name, self.at) and (end == len(self.text) or self.text[end] in followed_by):
                if row is not None and row.end() == end:  # a number that is also a name: the layer-name rule
                    break
                self.at = end
                return name
        if row is None:
            return None
        # the command line's layer rule (deepdream dream --layer): an exact name wins, #N is row N, another
        # number is a row, and a name that is also another row's number is refused naming both readings
        name = layer_name_from_text(row.group(0), self.rows, ARGUMENT)
        self.at = row.end()
        return name

    def known_layer(self, what: str = "a layer name") -> str:
        start = self.at
        name = self.layer(LAYER_ENDS)
        if name is None:
            self.space()
            word = re.match(r"[^,()\s]*", self.text[self.at :]).group(0)
            raise self.fail(f"{what} of the network{self.nearest(word)}", start)
        return name

    def nearest(self, word: str) -> str:
        found = difflib.get_close_matches(word, self.layers, n=5, cutoff=0.0) if word else []
        return f" (nearest: {', '.join(found)})" if found else ""

    def unit(self) -> Optional[tuple[str, int]]:
        name = self.layer(":")
        if name is None:
            return None
        self.expect(":", f"':' and a channel after {name!r}")
        channel_at = self.at
        channel = self.index("a channel")
        if self.channels_of is not None:
            count = self.channels_of(name)
            if channel >= count:
                raise DeepDreamError(
                    "deepdreamport:optvis:BadObjective",
                    f"{ARGUMENT}: at column {channel_at + 1}: channel {channel + 1} of {name!r} is out of range; "
                    f"it has channels 1..{count}.",
                )
        return name, channel

    def vector(self) -> np.ndarray:
        self.space()
        start = self.at
        if self.at < len(self.text) and self.text[self.at] in "'\"":
            quote = self.text[self.at]
            end = self.text.find(quote, self.at + 1)
            if end < 0:
                raise self.fail(f"a closing {quote}")
            path, self.at = self.text[self.at + 1 : end], end + 1
        else:
            match = re.match(r"[^,)]*", self.text[self.at :])
            path = match.group(0).strip()
            self.at += len(match.group(0))
        if not path.lower().endswith(".npy"):
            raise self.fail("a .npy file (one number per channel)", start)
        try:
            vector = np.asarray(self.load_vector(path), dtype=np.float64)
        except (OSError, ValueError) as error:
            raise DeepDreamError(
                "deepdreamport:optvis:BadObjective",
                f"{ARGUMENT}: cannot read {path!r} ({' '.join(str(error).split())[:120]}).",
            ) from None
        if vector.ndim != 1 or vector.size == 0:
            raise DeepDreamError(
                "deepdreamport:optvis:BadObjective",
                f"{ARGUMENT}: {path!r} must hold a vector (one number per channel); it has shape {vector.shape}.",
            )
        return vector

    # -- grammar -------------------------------------------------------------------
    def objectives(self) -> list[Parsed]:
        parsed = []
        while True:
            self.space()
            start = self.at
            self.units = []
            objective = self.expression()
            if not isinstance(objective, o.Objective):
                raise self.fail("an objective (a unit LAYER:CHANNEL or a call), not only numbers", start)
            text = self.text[start : self.at].strip()
            lone_unit = len(self.units) == 1 and self.text[self.units[0][2] : self.units[0][3]].strip() == text
            label = f"{self.units[0][0]} ch {self.units[0][1] + 1}" if lone_unit else text
            parsed.append(Parsed(text, objective, label))
            if self.take(","):
                continue
            self.space()
            if self.at != len(self.text):
                raise self.fail("an operator (+ - * /), ',' or the end")
            return parsed

    def expression(self):
        value = self.term()
        while True:
            if self.take("+"):
                value = value + self.term()
            elif self.take("-"):
                value = value - self.term()
            else:
                return value

    def term(self):
        value = self.factor()
        while True:
            if self.take("*"):
                value = value * self.factor()
            elif self.take("/"):
                at = self.at
                divisor = self.factor()
                if not isinstance(divisor, o.Objective) and divisor == 0:
                    raise self.fail("a divisor other than 0", at)
                value = value / divisor
            else:
                return value

    def factor(self):
        if self.take("-"):
            return -self.factor()
        if self.take("+"):
            return self.factor()
        if self.take("("):
            value = self.expression()
            self.expect(")", "')'")
            return value
        self.space()
        start = self.at
        unit = self.unit()
        if unit is not None:
            self.units.append((*unit, start, self.at))
            return o.channel(*unit)
        number = self.number()
        if number is not None:
            return number
        match = NAME.match(self.text, self.at)
        if match is not None and self.text[match.end() :].lstrip().startswith("("):
            return self.call(match)
        unknown = re.match(r"([^\s,()]+):\d", self.text[self.at :])
        if unknown is not None:
            raise self.fail(f"a unit LAYER:CHANNEL with a layer of the network{self.nearest(unknown.group(1))}")
        raise self.fail("a unit LAYER:CHANNEL, a number, a call such as diversity(LAYER) or '('")

    def call(self, match) -> o.Objective:
        name, start = match.group(0), self.at
        self.at = match.end()
        self.expect("(", "'('")
        if name not in CALLS:
            nearest = difflib.get_close_matches(name, list(CALLS), n=3, cutoff=0.0)
            raise self.fail(f"an objective's name (nearest: {', '.join(nearest)}; all: {', '.join(CALLS)})", start)
        objective = CALLS[name](self)
        self.expect(")", f"')' closing {name}(")
        return objective

    # -- arguments -------------------------------------------------------------------
    def more(self) -> bool:
        """Whether another argument follows (a ',' is taken)."""
        return self.take(",")

    def optional_position(self) -> tuple[Optional[int], Optional[int]]:
        if not self.more():
            return None, None
        x = o.CountedFrom1(self.index("x"))
        self.expect(",", "',' and y")
        return x, o.CountedFrom1(self.index("y"))

    def required_unit(self) -> tuple[str, int]:
        unit = self.unit()
        if unit is None:
            self.known_layer("LAYER:CHANNEL with a layer")
            raise self.fail("':' and a channel")
        return unit


def _channel(p: _Parser) -> o.Objective:
    return o.channel(*p.required_unit())


def _neuron(p: _Parser) -> o.Objective:
    layer, channel = p.required_unit()
    x, y = p.optional_position()
    return o.neuron(layer, channel, x=x, y=y)


def _deepdream(p: _Parser) -> o.Objective:
    return o.deepdream(*p.required_unit())


def _layer_and_vector(p: _Parser) -> tuple[str, np.ndarray]:
    layer = p.known_layer()
    p.expect(",", "',' and a .npy file")
    return layer, p.vector()


def _with_vector(function):
    """``function(LAYER, FILE.npy)``."""
    return lambda p: function(*_layer_and_vector(p))


def _with_vector_at(function):
    """``function(LAYER, FILE.npy[, X, Y])``."""

    def parse(p: _Parser) -> o.Objective:
        layer, vector = _layer_and_vector(p)
        x, y = p.optional_position()
        return function(layer, vector, x=x, y=y)

    return parse


def _localgroup_weight(p: _Parser) -> o.Objective:
    layer, vector = _layer_and_vector(p)
    p.expect(",", "',' and x")
    x = o.CountedFrom1(p.index("x"))
    p.expect(",", "',' and y")
    y = o.CountedFrom1(p.index("y"))
    wx = wy = 1
    if p.more():
        wx = p.index("wx") + 1
        p.expect(",", "',' and wy")
        wy = p.index("wy") + 1
    return o.localgroup_weight(layer, vector, x=x, y=y, wx=wx, wy=wy)


def _diversity(p: _Parser) -> o.Objective:
    return o.diversity(p.known_layer())


def _alignment(p: _Parser) -> o.Objective:
    layer = p.known_layer()
    decay = 2.0
    if p.more():
        decay = p.number()
        if decay is None:
            raise p.fail("a decay ratio (a number)")
    return o.alignment(layer, decay)


def _channel_interpolate(p: _Parser) -> o.Objective:
    first = p.required_unit()
    p.expect(",", "',' and the second LAYER:CHANNEL")
    return o.channel_interpolate(*first, *p.required_unit())


def _penalty(function):
    def parse(p: _Parser) -> o.Objective:
        return function("input" if p.peek(")") else p.known_layer())

    return parse


CALLS = {
    "channel": _channel,
    "neuron": _neuron,
    "deepdream": _deepdream,
    "direction": _with_vector(o.direction),
    "direction_neuron": _with_vector_at(o.direction_neuron),
    "channel_weight": _with_vector(o.channel_weight),
    "neuron_weight": _with_vector_at(o.neuron_weight),
    "localgroup_weight": _localgroup_weight,
    "diversity": _diversity,
    "alignment": _alignment,
    "channel_interpolate": _channel_interpolate,
    "L1": _penalty(o.L1),
    "L2": _penalty(o.L2),
    "total_variation": _penalty(o.total_variation),
    "blur": _penalty(o.blur),
}


def parse_objectives(
    text: str,
    layer_names: Sequence[str],
    channels_of: Optional[Callable[[str], int]] = None,
    load_vector: Callable[[str], np.ndarray] = lambda path: np.load(Path(path), allow_pickle=False),
    rows: Optional[Sequence[str]] = None,
) -> list[Parsed]:
    """The expressions of ``text`` (one per batch element), with 1-based indices made 0-based.

    ``layer_names``: the network's layer names; ``channels_of(layer)``: its channel count (for the
    range check; None skips it); ``load_vector(path)``: reads a ``.npy`` file; ``rows``: the layer
    table (``deepdream layers``) in row order, for a network that has one (ONNX): then a layer may
    also be given by its row (``#4``, or a number that names no layer) by the command line's
    layer rule (:func:`deepdreamport.doors.numbering.layer_from_text`); without it numbers are names
    only (a torch network's ``0``, ``1``, ... modules).
    """
    if not isinstance(text, str) or not text.strip():
        raise DeepDreamError("deepdreamport:optvis:BadObjective", f"{ARGUMENT}: expected an objective; got {text!r}.")
    return _Parser(text, layer_names, channels_of, load_vector, rows).objectives()

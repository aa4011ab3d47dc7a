"""``render --objective``: the command line's objective text, channels counted from 1.

The command line counts channels (and layer-table rows) from 1, as ``dream``,
``atlas``, ``parity record`` and MATLAB do; the Python API
(:func:`.rendering.render`, lucent's ``"layer:n"`` strings) counts from 0.
This module is the one place where the text becomes API objectives:

* :func:`parse_objective_text` reads the text into terms, without the network
  (syntax and channel numbers are refused before anything is loaded);
* :func:`resolve_terms` reads each term's layer by the command line's layer rule
  (:func:`deepdreamport.doors.numbering.layer_from_text`: an exact name wins, ``#N``
  is row N, a name that is also another row is refused naming both) and checks
  each channel against the layer, in 1-based words;
* :func:`api_objective` makes the 0-based objectives :func:`.rendering.render` and
  :func:`.gradient_free.render_gradient_free` take (one per batch element).

Grammar today: ``TERM[,TERM...]``, one batch element per term, where a term is
``LAYER:CHANNEL`` (the last ``:`` separates them, so layer names may hold ``:``;
a layer is a name, a row number or ``#row``). A richer language (lucent's
``neuron``, ``direction``, weighted sums ...) adds term kinds to
:func:`parse_objective_text` whose layers go through :func:`resolve_terms` and whose
channel numbers through :func:`~deepdreamport.doors.numbering.channel_index`, so
the numbering stays 1-based everywhere on the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ._network import DeepDreamError, channel_index, layer_name_from_text
from .objectives import Objective, channel

OPTION = "--objective"
BAD_OBJECTIVE = "deepdreamport:optvis:BadObjective"


@dataclass(frozen=True)
class UnitTerm:
    """``LAYER:CHANNEL`` as written: ``layer`` a name, row number or ``#row``; ``channel`` counted from 1."""

    text: str
    layer: str
    channel: int

    @property
    def index(self) -> int:
        """The 0-based channel index of the Python API."""
        return self.channel - 1

    @property
    def label(self) -> str:
        """The montage label: the layer's name and the 1-based channel (``conv2 ch 1``)."""
        return f"{self.layer} ch {self.channel}"


def _bad(message: str) -> DeepDreamError:
    return DeepDreamError(BAD_OBJECTIVE, f"{OPTION}: {message}")


def parse_objective_text(text: str) -> list[UnitTerm]:
    """The terms of ``text`` (see the module docstring); channels checked to be ≥ 1, layers not yet resolved."""
    terms = []
    for part in str(text).split(","):
        written = part.strip()
        layer, colon, number = written.rpartition(":")
        if not colon or not layer.strip():
            raise _bad(f"{written!r} is not LAYER:CHANNEL (for example conv2:1; channels count from 1)")
        try:
            value = int(number)
        except ValueError:
            raise _bad(f"{written!r} is not LAYER:CHANNEL (the channel must be an integer counted from 1)") from None
        channel_index(value, OPTION, written)
        terms.append(UnitTerm(written, layer.strip(), value))
    return terms


def resolve_terms(terms: Sequence[UnitTerm], layer_names: Sequence[str], channel_count) -> list[UnitTerm]:
    """``terms`` with each layer as its name (the command line's layer rule) and each channel checked.

    ``layer_names``: the layer table, row 1 first (``deepdream layers``);
    ``channel_count(layer)``: the channels of a layer (called once per layer).
    """
    resolved = []
    counts: dict[str, int] = {}
    for term in terms:
        name = layer_name_from_text(term.layer, layer_names, OPTION)
        if name not in counts:
            counts[name] = int(channel_count(name))
        if term.channel > counts[name]:
            raise _bad(
                f"channel {term.channel} of {name!r} is out of range; it has channels 1..{counts[name]} "
                "(counted from 1 on the command line)"
            )
        resolved.append(UnitTerm(term.text, name, term.channel))
    return resolved


def api_objective(terms: Sequence[UnitTerm]) -> Objective | list[Objective]:
    """The objectives of the Python API (0-based channels): one objective, or one per batch element."""
    objectives = [channel(term.layer, term.index) for term in terms]
    return objectives[0] if len(objectives) == 1 else objectives

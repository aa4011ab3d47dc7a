"""Every (unit, recipe) pair's own random stream, so that its image depends on nothing else.

A unit's seed is a hash of the atlas seed, the layer, the 1-based channel and the recipe:
a unit renders the same whatever batch, worker, engine or order it lands in, and the command
line on its page (``--seed`` = this seed) draws the same numbers. No MATLAB counterpart.
"""

from __future__ import annotations

import hashlib


def unit_seed(seed: int, layer: str, channel: int, recipe: str) -> int:
    """The seed (0 … 2³²−1, MATLAB's ``rng`` range) of one unit's render.

    Example:
        >>> unit_seed(0, "conv2", 1, "matlab") == unit_seed(0, "conv2", 1, "matlab") != unit_seed(0, "conv2", 2, "matlab")
        True
    """
    text = f"deepdreamport-atlas|{int(seed)}|{layer}|{int(channel)}|{recipe}"
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")

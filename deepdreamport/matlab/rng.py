"""MATLAB-compatible random stream for the tile rolls.

Mirrors ``rng(seed, 'twister')`` and ``randi(n)`` of MATLAB's global stream.
MATLAB seeds MT19937 with ``init_genrand(seed)`` (seed 0 means 5489) and draws
``rand`` as 53-bit doubles; NumPy's legacy :class:`numpy.random.RandomState`
produces the identical ``rand`` stream, so ``randi(n) = 1 + floor(n * rand)``
reproduces MATLAB's rolls bit for bit (:func:`deepdreamport.core.tiles.randi`).

Deviation: ``randn`` (used only for the default initial image) draws from
NumPy's Box-Muller-style normal generator, not MATLAB's Ziggurat, so default
initial images differ from MATLAB's even with the same seed.
"""

from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from ..errors import DeepDreamError

MATLAB_DEFAULT_SEED = 5489
_MAX_SEED = 2**32 - 1


def _validated_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (Integral, float, np.floating)):
        raise DeepDreamError(
            "MATLAB:rng:badSeed",
            f"rng: seed must be a nonnegative integer scalar below 2^32; got {seed!r}.",
        )
    if not math.isfinite(float(seed)) or float(seed) != int(seed) or not 0 <= int(seed) <= _MAX_SEED:
        raise DeepDreamError(
            "MATLAB:rng:badSeed",
            f"rng: seed must be a nonnegative integer scalar below 2^32; got {seed!r}.",
        )
    return int(seed)


def twister(seed: int = 0) -> np.random.RandomState:
    """A fresh stream seeded like MATLAB's ``rng(seed, 'twister')``."""
    seed = _validated_seed(seed)
    return np.random.RandomState(MATLAB_DEFAULT_SEED if seed == 0 else seed)


_global_stream = twister(0)


def rng(seed: int = 0, generator: str = "twister") -> None:
    """Reseed the package-global stream, as MATLAB's ``rng(seed)`` does.

    Only the Mersenne Twister (``'twister'``, MATLAB's default) is supported.
    """
    global _global_stream
    if not isinstance(generator, str) or generator.lower() not in ("twister", "default"):
        raise DeepDreamError(
            "MATLAB:rng:badGenerator",
            f"rng: generator must be 'twister'; got {generator!r}.",
        )
    _global_stream = twister(seed)


def resolve_stream(random_state: object) -> np.random.RandomState:
    """``None`` → the global stream; an int → a fresh MATLAB-seeded stream."""
    if random_state is None:
        return _global_stream
    if isinstance(random_state, np.random.RandomState):
        return random_state
    try:
        return twister(random_state)  # type: ignore[arg-type]
    except DeepDreamError:
        raise DeepDreamError(
            "deepdreamport:badRandomState",
            "random_state must be None, a nonnegative integer seed or a "
            f"numpy.random.RandomState; got {random_state!r}.",
        ) from None

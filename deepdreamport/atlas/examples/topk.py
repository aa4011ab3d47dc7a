"""A streaming top-k per unit, and each unit's activation histogram, over any number of images.

Pure NumPy, no MATLAB or lucent counterpart. A :class:`LayerExamples` holds, for each of a
layer's C units, the k items with the highest *score* (the unit's spatial maximum on the
item) with where that maximum lies, and a histogram of every item's score. Its memory is
O(C × (k + bins)), whatever the number of images. Two of them over disjoint items merge into
the one over their union (:meth:`LayerExamples.merge`), and the result does not depend on the
order of merges: ties are broken by the item number, and counts add up exactly (the sums
behind the mean, to float64 rounding). So chunks of
images can be scored on any worker, in any order, and resumed.

Histogram bins have fixed edges, equal steps of ``asinh(score / 0.01)`` (about 20 % wide
for |score| ≫ 0.01, finer near 0), so histograms of chunks add without knowing the range
in advance; scores beyond the edges land in the end bins.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np

TOP_K = 8
"""Examples kept per unit."""
HIST_SCALE = 0.01
HIST_BINS = 128
HIST_LIMIT = 12.0
HIST_EDGES = HIST_SCALE * np.sinh(np.linspace(-HIST_LIMIT, HIST_LIMIT, HIST_BINS + 1))
"""The histogram's fixed bin edges (activation units)."""


def histogram_counts(scores: np.ndarray) -> np.ndarray:
    """N×C scores → C×bins counts (NaN scores are not counted).

    Example:
        >>> histogram_counts(np.array([[0.0], [0.0], [5.0]])).sum(axis=1).tolist()
        [3]
    """
    finite = np.isfinite(scores)
    position = (np.arcsinh(np.where(finite, scores, 0.0) / HIST_SCALE) + HIST_LIMIT) / (2 * HIST_LIMIT) * HIST_BINS
    index = np.clip(np.floor(position).astype(np.int64), 0, HIST_BINS - 1)
    counts = np.zeros((scores.shape[1], HIST_BINS), dtype=np.int64)
    columns = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    np.add.at(counts, (columns[finite], index[finite]), 1)
    return counts


@dataclass
class LayerExamples:
    """The top-k items of each of C units (C×k arrays; empty slots: item −1, score −inf) and their histograms.

    ``ys``/``xs`` are where the unit's maximum lies on the item, in network-input pixels.
    """

    items: np.ndarray  # C×k int64
    scores: np.ndarray  # C×k float64
    ys: np.ndarray  # C×k float32
    xs: np.ndarray  # C×k float32
    histogram: np.ndarray  # C×bins int64
    count: np.ndarray  # C int64: finite scores seen
    total: np.ndarray  # C float64: their sum
    squares: np.ndarray  # C float64: the sum of their squares
    positive: np.ndarray  # C int64: scores > 0

    @classmethod
    def empty(cls, channels: int, k: int = TOP_K) -> "LayerExamples":
        return cls(
            np.full((channels, k), -1, dtype=np.int64),
            np.full((channels, k), -np.inf),
            np.zeros((channels, k), dtype=np.float32),
            np.zeros((channels, k), dtype=np.float32),
            np.zeros((channels, HIST_BINS), dtype=np.int64),
            np.zeros(channels, dtype=np.int64),
            np.zeros(channels),
            np.zeros(channels),
            np.zeros(channels, dtype=np.int64),
        )

    @property
    def channels(self) -> int:
        return self.items.shape[0]

    @property
    def k(self) -> int:
        return self.items.shape[1]

    @classmethod
    def of_batch(
        cls, item_numbers: np.ndarray, scores: np.ndarray, ys: np.ndarray, xs: np.ndarray, k: int = TOP_K
    ) -> "LayerExamples":
        """The summary of N items: ``scores``, ``ys``, ``xs`` N×C; ``item_numbers`` N."""
        scores = np.asarray(scores, dtype=np.float64)
        count, channels = scores.shape
        finite = np.isfinite(scores)
        clean = np.where(finite, scores, 0.0)
        batch = cls(
            np.broadcast_to(np.asarray(item_numbers, dtype=np.int64)[:, None], scores.shape).T.copy(),
            np.where(finite, scores, -np.inf).T.copy(),
            np.asarray(ys, dtype=np.float32).T.copy(),
            np.asarray(xs, dtype=np.float32).T.copy(),
            histogram_counts(scores),
            finite.sum(axis=0).astype(np.int64),
            clean.sum(axis=0),
            (clean**2).sum(axis=0),
            (clean > 0).sum(axis=0).astype(np.int64),
        )
        return batch._top(k)

    def _top(self, k: int) -> "LayerExamples":
        """Keep the k best of every row: highest score first, then lowest item number (empty slots last)."""
        item_key = np.where(self.items < 0, np.iinfo(np.int64).max, self.items)
        order = np.lexsort((item_key, -self.scores), axis=-1)[:, :k] if self.items.shape[1] else self.items
        rows = np.arange(self.channels)[:, None]
        picked = [a[rows, order] for a in (self.items, self.scores, self.ys, self.xs)]
        if picked[0].shape[1] < k:  # fewer candidates than k: pad with empty slots
            pad = k - picked[0].shape[1]
            fills = (-1, -np.inf, 0.0, 0.0)
            picked = [
                np.concatenate([a, np.full((self.channels, pad), f, dtype=a.dtype)], axis=1)
                for a, f in zip(picked, fills)
            ]
        return LayerExamples(*picked, self.histogram, self.count, self.total, self.squares, self.positive)

    def merge(self, other: "LayerExamples") -> "LayerExamples":
        """The summary over both sets of items (disjoint), with this one's k."""
        if other.channels != self.channels:
            raise ValueError(f"cannot merge examples of {other.channels} units into {self.channels}")
        joined = LayerExamples(
            np.concatenate([self.items, other.items], axis=1),
            np.concatenate([self.scores, other.scores], axis=1),
            np.concatenate([self.ys, other.ys], axis=1),
            np.concatenate([self.xs, other.xs], axis=1),
            self.histogram + other.histogram,
            self.count + other.count,
            self.total + other.total,
            self.squares + other.squares,
            self.positive + other.positive,
        )
        return joined._top(self.k)

    def mean(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.count > 0, self.total / np.maximum(self.count, 1), np.nan)

    def to_bytes(self) -> bytes:
        """Compressed (histograms are mostly zeros); counts stored as int32."""
        buffer = io.BytesIO()
        arrays = {name: getattr(self, name) for name in self.__dataclass_fields__}
        arrays["histogram"] = arrays["histogram"].astype(np.int32)
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "LayerExamples":
        with np.load(io.BytesIO(data)) as arrays:
            values = {name: arrays[name] for name in cls.__dataclass_fields__}
        values["histogram"] = values["histogram"].astype(np.int64)
        return cls(**values)

    def unit(self, channel0: int) -> list[dict]:
        """The filled top-k slots of one unit: ``[{"item", "score", "y", "x"}, ...]``, best first."""
        return [
            {"item": int(i), "score": float(s), "y": float(y), "x": float(x)}
            for i, s, y, x in zip(self.items[channel0], self.scores[channel0], self.ys[channel0], self.xs[channel0])
            if i >= 0
        ]

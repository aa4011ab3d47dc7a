"""Score one chunk of example items: decode ahead in a thread, batch on the device, summarise per layer.

The unit of work of the examples pass (no MATLAB or lucent counterpart): a chunk is a run of
consecutive item numbers; its result is one :class:`~.topk.LayerExamples` per layer plus the
items that could not be read. Decoding (Pillow releases the GIL) overlaps the network pass:
at most two batches of decoded images exist at a time, so memory does not grow with the chunk.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from .scoring import score_batch, to_numpy
from .sources import ExampleItem, LoadedItem, load_item
from .topk import TOP_K, LayerExamples


@dataclass
class ChunkSummary:
    """What one chunk gave: per layer output name, its summary; the unreadable items; counts."""

    layers: dict = field(default_factory=dict)  # output name → LayerExamples
    unreadable: list = field(default_factory=list)  # [(item number, reason)]
    read: int = 0
    converted_from_grey: int = 0
    network_seconds: float = 0.0  # time in the network passes (the rest: decoding waits and the top-k)


def _decode(root: Optional[str], items: Sequence[ExampleItem], size: int, channels: int) -> list[LoadedItem]:
    return [load_item(root, item, size, channels) for item in items]


def score_chunk(
    module: torch.nn.Module,
    outputs: Sequence[str],
    preprocess: Callable[[torch.Tensor], torch.Tensor],
    root: Optional[str],
    items: Sequence[ExampleItem],
    size: int,
    channels: int,
    batch: int,
    k: int = TOP_K,
) -> ChunkSummary:
    """Every item of ``items`` through ``module`` (one output per name of ``outputs``), ``batch`` at a time."""
    summary = ChunkSummary()
    groups = [items[start : start + batch] for start in range(0, len(items), batch)]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as pool:
        pending = pool.submit(_decode, root, groups[0], size, channels) if groups else None
        for index in range(len(groups)):
            loaded = pending.result()
            pending = pool.submit(_decode, root, groups[index + 1], size, channels) if index + 1 < len(groups) else None
            good = [entry for entry in loaded if entry.pixels is not None]
            summary.unreadable.extend((entry.number, entry.problem) for entry in loaded if entry.pixels is None)
            summary.converted_from_grey += sum(entry.converted_from_grey for entry in good)
            summary.read += len(good)
            if not good:
                continue
            numbers = np.array([entry.number for entry in good], dtype=np.int64)
            started = time.perf_counter()
            results = to_numpy(score_batch(module, np.stack([entry.pixels for entry in good]), preprocess))
            summary.network_seconds += time.perf_counter() - started
            for name, (scores, ys, xs) in zip(outputs, results):
                part = LayerExamples.of_batch(numbers, scores, ys, xs, k)
                summary.layers[name] = summary.layers[name].merge(part) if name in summary.layers else part
    return summary

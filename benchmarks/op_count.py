"""Figure 10: aten operations per deep-dream iteration / those of the bare forward+backward of the same tiles.

A GPU runs one kernel (or more) per aten operation and the host pays 5–20 µs to launch each, so
an iteration made of many small operations leaves the GPU idle (issue 17: 22,220 launches for a
warm demo-size call). The count is the same on every device, so it is measured here on the CPU
with a :class:`~torch.utils._python_dispatch.TorchDispatchMode` that counts every aten
operation the dispatcher runs (views included: they cost host time, not kernels; the JSON also
gives the count without views, closer to the kernels launched). The iteration is one warm
``deep_dream`` iteration (one level: tiled gradient, Laplacian normalisation, update, strength);
the bare pass is the truncated network's forward + input gradient on the same tiles in the same
chunks, with nothing around it. With one batch (a GPU's default: the figure, along a GPU's copy path)
and with the CPU's chunks and copies.

``python -m benchmarks.op_count [--model M --layer L --k K --sizes 224,448]`` prints JSON.
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from deepdreamport.core import pyramid
from deepdreamport.core.loop import CPU_MAX_BATCH, DreamSettings, deep_dream

from .common import DEFAULT_LAYER, DEFAULT_MODEL, Setup, load_setup

ONE_BATCH = 1 << 20  # a batch limit no iteration reaches: every tile in one pass, as on a GPU


class OperationCounter(TorchDispatchMode):
    """Counts the aten operations run while it is active (by name), and the views among them."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: collections.Counter = collections.Counter()
        self.views = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts[func.overloadpacket.__name__] += 1
        if func._schema.returns and func._schema.returns[0].alias_info is not None and not func._schema.is_mutable:
            self.views += 1
        return func(*args, **(kwargs or {}))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def count_operations(fn: Callable[[], object]) -> OperationCounter:
    """The operations of one call of ``fn`` (after one uncounted call, so caches are warm)."""
    fn()
    with OperationCounter() as counter:
        fn()
    return counter


def iteration(setup: Setup, size: int, max_batch: Optional[int]) -> Callable[[], object]:
    images = setup.images(size)
    settings = DreamSettings(1, 1, 1.4, setup.tile_size, max_batch)
    return lambda: deep_dream(images, setup.channel_index, setup.truncated.gradient, settings, np.random.RandomState(0))


def bare_pass(setup: Setup, size: int, max_batch: Optional[int]) -> Callable[[], object]:
    """The truncated network's gradient alone on the tiles of one ``size``² iteration, in the same chunks."""
    tiles = 1 if size <= setup.tile_size else (-(-size // setup.tile_size)) ** 2
    side = min(size, setup.tile_size)
    batch = torch.zeros(
        setup.k * tiles, setup.network.input_channels, side, side, dtype=setup.dtype, device=setup.device
    )
    channels = setup.channel_index.repeat_interleave(tiles)
    chunk = max_batch or batch.shape[0]

    def run():
        for start in range(0, batch.shape[0], chunk):
            setup.truncated.gradient(batch[start : start + chunk], channels[start : start + chunk])

    return run


def figure_op_count(setup: Setup, sizes=None, top: int = 12) -> dict:
    """Operations per iteration / per bare pass, at each size: one batch along an accelerator's copy path
    (the figure), one batch along the CPU's, and the CPU's chunks along the CPU's.

    The Laplacian pyramid copies its pads and interleaves by slices on the CPU (faster there) and by one
    gather or ``stack`` elsewhere (:data:`~deepdreamport.core.pyramid.CPU_SLICE_COPIES`); the count of a
    GPU's operations is taken here by turning the CPU's slice copies off.
    """
    sizes = sizes or (setup.tile_size, 2 * setup.tile_size)
    rows = []
    cases = (
        ("one_batch", ONE_BATCH, False),
        ("one_batch_cpu_copies", ONE_BATCH, True),
        ("cpu_chunks", CPU_MAX_BATCH, True),
    )
    for size in sizes:
        for label, max_batch, slice_copies in cases:
            pyramid.CPU_SLICE_COPIES = slice_copies
            try:
                it = count_operations(iteration(setup, size, max_batch))
            finally:
                pyramid.CPU_SLICE_COPIES = True
            bare = count_operations(bare_pass(setup, size, max_batch))
            extra = it.counts - bare.counts
            rows.append(
                {
                    "size": size,
                    "batching": label,
                    "max_batch": max_batch,
                    "copies": "cpu slices" if slice_copies else "accelerator gathers",
                    "iteration_ops": it.total,
                    "bare_ops": bare.total,
                    "ratio": it.total / bare.total,
                    "iteration_ops_without_views": it.total - it.views,
                    "bare_ops_without_views": bare.total - bare.views,
                    "ratio_without_views": (it.total - it.views) / max(1, bare.total - bare.views),
                    "extra_ops_by_name": dict(extra.most_common(top)),
                }
            )
    gpu_rows = [r for r in rows if r["batching"] == "one_batch"]
    return {"rows": rows, "ratio": max(r["ratio"] for r in gpu_rows)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.op_count", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--layer", default=DEFAULT_LAYER)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--sizes", default=None, help="comma-separated image sides (default: one and four tiles)")
    args = parser.parse_args(argv)
    setup = load_setup(args.model, args.layer, args.k, torch.float32, torch.device("cpu"))
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else None
    print(json.dumps(figure_op_count(setup, sizes), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

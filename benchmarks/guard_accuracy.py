"""How close the memory guard's estimate is to the real peak: one run per case, each in a fresh process.

``python -m benchmarks.guard_accuracy MODEL LAYER --sizes 448,1024 --k 4 --max-batch 8 --levels 1``
prints, per image size, the guard's estimate (:mod:`deepdreamport.doors.guard`)
and the growth of the peak resident memory (VmHWM) during the call, after a
warm-up call has loaded the network and torch's kernels. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def measure(model: str, layer: str, size: int, k: int, max_batch: int, levels: int, tile_size) -> dict:
    """One case in this process: the guard's estimate and the measured growth of the peak RSS (MiB)."""
    from deepdreamport import deep_dream_image, load_network
    from deepdreamport.core.loop import DreamSettings
    from deepdreamport.doors.guard import activation_elements_per_pixel, estimate_memory

    network = load_network(model)
    channels = list(range(k))
    common = dict(num_iterations=1, device="cpu", random_state=0, max_batch=max_batch, tile_size=tile_size)
    tile = network.tile_size(tile_size)
    warm = np.random.RandomState(1).rand(tile, tile, network.input_channels) * 255
    deep_dream_image(network, layer, channels, initial_image=warm, pyramid_levels=1, **common)  # loads everything
    truncated = network.truncated(layer, tile_size)
    per_pixel = activation_elements_per_pixel(truncated, network.input_channels, tile)
    settings = DreamSettings(1, levels, 1.4, tile, max_batch)
    estimate = estimate_memory(k, network.input_channels, (size, size), settings, 4, per_pixel, torch.device("cpu"))
    image = np.random.RandomState(2).rand(size, size, network.input_channels) * 255
    growth = peak_growth_mib(
        lambda: deep_dream_image(network, layer, channels, initial_image=image, pyramid_levels=levels, **common)
    )
    return accuracy_row(estimate.peak_bytes, growth, size=size, k=k, max_batch=max_batch, levels=levels)


def peak_growth_mib(run) -> float:
    """The growth of the peak resident memory (VmHWM over VmRSS before) while ``run()`` runs, in MiB."""
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = _status_mib("VmRSS")
    run()
    return _status_mib("VmHWM") - before


def accuracy_row(estimate_bytes: int, growth_mib: float, **case) -> dict:
    """One line of the accuracy table: the case, the estimate, the measured growth and their ratio."""
    estimate_mib = estimate_bytes / 2**20
    return {
        **case,
        "estimate_mib": round(estimate_mib, 1),
        "measured_growth_mib": round(growth_mib, 1),
        "ratio": round(estimate_mib / growth_mib, 2) if growth_mib > 0 else None,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("layer")
    parser.add_argument("--sizes", default="448,1024")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--levels", type=int, default=1)
    parser.add_argument("--tile-size", type=int, default=None)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process: one size
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.one:
        print(
            json.dumps(measure(args.model, args.layer, args.one, args.k, args.max_batch, args.levels, args.tile_size))
        )
        return 0
    for size in [int(s) for s in args.sizes.split(",")]:
        child = [sys.executable, "-m", "benchmarks.guard_accuracy", args.model, args.layer, "--one", str(size)]
        child += ["--k", str(args.k), "--max-batch", str(args.max_batch), "--levels", str(args.levels)]
        if args.tile_size:
            child += ["--tile-size", str(args.tile_size)]
        done = subprocess.run(child, capture_output=True, text=True)
        print(done.stdout.strip() or done.stderr[-2000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())

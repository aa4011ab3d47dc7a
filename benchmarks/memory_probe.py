"""Peak resident memory of one deep-dream iteration at one image size (run in a fresh process).

``python -m benchmarks.memory_probe MODEL LAYER SIZE --k K --max-batch B [--tile-size T]
[--device cuda] [--host-state]`` prints one JSON line: the peak RSS after setting up the network
and after the iteration; on CUDA the peak is the device memory torch allocated during the
iteration (``torch.cuda.max_memory_allocated``). ``--host-state`` keeps the K images on the host
(``DreamSettings.host_state``).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

import numpy as np
import torch


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark (VmHWM) so the dream's own peak can be read."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", type=Path)
    parser.add_argument("layer")
    parser.add_argument("size", type=int)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--max-batch", type=int, default=8)
    parser.add_argument("--tile-size", type=int, default=None)
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--host-state", action="store_true")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    if args.threads:
        torch.set_num_threads(args.threads)

    from deepdreamport.core.loop import DreamSettings, deep_dream

    from .common import load_setup

    setup = load_setup(args.model, args.layer, args.k, torch.float32, device, args.tile_size)
    # a warm-up pass at one tile so that the set-up peak includes the network's working memory
    small = setup.images(setup.tile_size)
    settings = DreamSettings(1, 1, 1.4, setup.tile_size, args.max_batch)
    deep_dream(small, setup.channel_index, setup.truncated.gradient, settings, np.random.RandomState(0))
    del small
    after_setup = peak_mib()
    import gc

    gc.collect()
    reset = reset_peak()
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before_mib = torch.cuda.memory_allocated(device) / 2**20
    settings = DreamSettings(args.iterations, 1, 1.4, setup.tile_size, args.max_batch, host_state=args.host_state)
    # the image is handed over (no reference kept here), as a caller that only wants the result does
    result = deep_dream(
        setup.images(args.size), setup.channel_index, setup.truncated.gradient, settings, np.random.RandomState(0)
    )
    assert torch.isfinite(result.images).all()
    state_mib = result.images.numel() * result.images.element_size() / 2**20
    # ru_maxrss covers the process's whole life, including importing and converting the
    # ONNX graph; the dream's own peak is VmHWM after resetting it (Linux clear_refs 5).
    dream_peak = hwm_mib() if reset else peak_mib()
    device_fields = {}
    if cuda:
        torch.cuda.synchronize(device)
        device_fields = {
            "host_peak_mib": dream_peak,
            "device_peak_mib": torch.cuda.max_memory_allocated(device) / 2**20,
            "device_before_mib": before_mib,  # the network's weights and caches
        }
        dream_peak = device_fields["device_peak_mib"]
    print(
        json.dumps(
            {
                "size": args.size,
                "device": str(device),
                "host_state": args.host_state,
                **device_fields,
                "peak_mib": dream_peak,
                "peak_is_dream_only": reset,
                "ru_maxrss_mib": peak_mib(),
                "setup_peak_mib": after_setup,
                "image_state_mib": state_mib,
            }
        )
    )
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

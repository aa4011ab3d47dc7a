"""Shared set-up and timing for the benchmarks."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch

from deepdreamport.doors.files import default_model
from deepdreamport.nets import OnnxNetwork, VisualNetwork

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = default_model()
DEFAULT_LAYER = "_blocks/10/Add"


@dataclass
class Setup:
    network: OnnxNetwork
    truncated: VisualNetwork
    tile_size: int
    channel_index: torch.Tensor  # K channels (0-based)
    dtype: torch.dtype
    device: torch.device

    @property
    def k(self) -> int:
        return int(self.channel_index.numel())

    def images(self, size: int, seed: int = 0) -> torch.Tensor:
        """K copies of one random ``size``×``size`` image (as deepDreamImage starts)."""
        stream = np.random.RandomState(seed)
        image = stream.standard_normal((1, self.network.input_channels, size, size))
        batch = torch.from_numpy(image).to(self.device, self.dtype)
        return batch.expand(self.k, -1, -1, -1)  # a view, as the engine passes it


_NETWORKS: dict = {}


def load_setup(
    model: Path, layer: str, k: int, dtype: torch.dtype, device: torch.device, tile_size: Optional[int] = None
) -> Setup:
    key = str(model)
    if key not in _NETWORKS:
        _NETWORKS[key] = OnnxNetwork.from_onnx(str(model))
    network = _NETWORKS[key]
    truncated = network.truncated(layer, tile_size)
    truncated.to(device, dtype)
    channels = [c % truncated.num_channels for c in range(k)]
    index = torch.tensor(channels, dtype=torch.long, device=device)
    return Setup(network, truncated, network.tile_size(tile_size), index, dtype, device)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timeit(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``fn`` in seconds (after ``warmup`` untimed calls)."""
    for _ in range(warmup):
        fn()
    synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_medians(
    first: Callable[[], object], second: Callable[[], object], device: torch.device, repeats: int, warmup: int = 1
) -> tuple[float, float]:
    """Median wall times of two functions timed alternately, so drifts in machine load hit both."""
    for _ in range(warmup):
        first()
        second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for fn, bucket in ((first, times[0]), (second, times[1])):
            synchronize(device)
            start = time.perf_counter()
            fn()
            synchronize(device)
            bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]), statistics.median(times[1])

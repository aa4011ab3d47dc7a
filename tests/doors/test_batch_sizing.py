"""On a GPU the batch comes from the free memory (``guard.dream_max_batch``, ``guard.items_that_fit``); the CPU keeps 4."""

from __future__ import annotations

import numpy as np
import torch

import deepdreamport.doors.guard as guard
from deepdreamport import deep_dream_image, load_network
from deepdreamport.core.loop import DreamSettings
from tests.conftest import TINYNET

GPU = torch.device("cuda")  # only its type matters here: every limit below is given, nothing touches a GPU
RUN = dict(per_pixel=50.0, images=8, channels=3, size=(700, 700), dtype=torch.float32)


def peak(max_batch, settings) -> int:
    trial = DreamSettings(settings.num_iterations, settings.pyramid_levels, settings.pyramid_scale, 224, max_batch)
    return guard.estimate_memory(
        RUN["images"], RUN["channels"], RUN["size"], trial, 4, RUN["per_pixel"], GPU
    ).peak_bytes


def test_a_run_that_fits_keeps_one_batch_and_a_larger_one_gets_the_largest_batch_that_fits() -> None:
    settings = DreamSettings(10, 3, 1.4, 224)
    one_batch = peak(None, settings)
    assert guard.dream_max_batch(**RUN, settings=settings, device=GPU, limit=int(2 * one_batch)) is None
    limit = int(one_batch / 3)
    chosen = guard.dream_max_batch(**RUN, settings=settings, device=GPU, limit=limit)
    assert chosen is not None and chosen >= 1
    assert peak(chosen, settings) * guard.SAFETY <= limit < peak(chosen + 1, settings) * guard.SAFETY


def test_a_given_batch_and_the_cpu_are_left_alone() -> None:
    assert guard.dream_max_batch(**RUN, settings=DreamSettings(max_batch=5), device=GPU, limit=1) == 5
    assert guard.dream_max_batch(**RUN, settings=DreamSettings(), device=torch.device("cpu"), limit=1) is None


def test_items_that_fit() -> None:
    assert guard.items_that_fit(100.0, GPU, fixed_bytes=300, limit=1500) == 7  # (1500 / 1.5 - 300) // 100
    assert guard.items_that_fit(100.0, GPU, fixed_bytes=300, limit=1500, most=4) == 4
    assert guard.items_that_fit(1e9, GPU, limit=1500) == 1  # never 0: the guard refuses what cannot run at all


def test_a_dream_too_large_for_one_batch_runs_in_chunks_with_the_same_numbers(
    accelerator,
    monkeypatch,
) -> None:
    """On the stand-in accelerator with little free memory the run is chunked instead of refused."""
    network = load_network(str(TINYNET))
    options = dict(initial_image=np.random.RandomState(2).rand(60, 60, 3), num_iterations=1, pyramid_levels=1)
    options.update(random_state=0, dtype="double")
    chosen = []
    choose = guard.dream_max_batch

    def record(*args, **kwargs):
        chosen.append(choose(*args, **kwargs))
        return chosen[-1]

    monkeypatch.setattr(guard, "available_bytes", lambda device: 3_000_000 if device == accelerator else None)
    monkeypatch.setattr("deepdreamport.doors.run.dream_max_batch", record)
    chunked = deep_dream_image(network, "relu2", [0, 1, 2], device="gpu", **options)
    assert chosen and chosen[0] is not None and 1 <= chosen[0] < 3 * 4  # 3 images × 2×2 tiles did not fit at once
    whole = deep_dream_image(network, "relu2", [0, 1, 2], device="cpu", max_batch=12, **options)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-12)

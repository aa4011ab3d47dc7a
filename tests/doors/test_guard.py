"""Issue 9, the resource guard: a run that would not fit in memory is refused before it starts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport import DeepDreamError, OnnxNetwork, deep_dream_image, deepDreamImage
from deepdreamport.cli import main
from deepdreamport.core.loop import DreamSettings
from deepdreamport.doors.guard import (
    OUT_OF_MEMORY,
    activation_elements_per_pixel,
    available_bytes,
    check_memory,
    estimate_memory,
)

from ..conftest import TINYNET

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tiny() -> OnnxNetwork:
    return OnnxNetwork.from_onnx(TINYNET)


class Started(Exception):
    """Raised by a callback: the run got past the guard and iterated."""


def stop_at_once(level, iteration, strength):
    raise Started


def test_huge_pyramid_scale_is_refused_before_any_iteration(tiny):
    with pytest.raises(DeepDreamError) as info:
        deep_dream_image(tiny, "relu2", [0, 1], pyramid_scale=100, pyramid_levels=3, callback=stop_at_once)
    error = info.value
    assert error.identifier == OUT_OF_MEMORY
    for words in ("needs about", "is available", "PyramidLevels", "smaller image", "memory_check=False", "level 3"):
        assert words in error.message, error.message


def test_matlab_door_refuses_and_its_override_lets_the_run_start(tiny):
    with pytest.raises(DeepDreamError, match="CheckMemory"):
        deepDreamImage(tiny, "relu2", 1, "PyramidScale", 100000, "PyramidLevels", 2, "Verbose", False)
    with pytest.raises(Started):  # the guard is off: level 1 iterates; the callback stops it there
        deep_dream_image(
            tiny, "relu2", 0, pyramid_scale=100000, pyramid_levels=2, memory_check=False, callback=stop_at_once
        )


def test_cli_many_levels_are_refused_and_nothing_is_written(tmp_path, capsys):
    argv = ["dream", str(TINYNET), "--layer", "relu2", "--channels", "1", "--levels", "30", "--out"]
    assert main([*argv, str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--no-memory-check" in err and "level 30" in err
    assert list(tmp_path.iterdir()) == []


def test_ordinary_runs_pass_the_guard(tiny):
    images = deep_dream_image(tiny, "relu2", [0, 1, 2], num_iterations=1, pyramid_levels=3, random_state=1)
    assert images.shape[0] == 3


def test_saved_activations_are_counted_per_pixel(tiny):
    truncated = tiny.truncated("relu2")
    per_pixel = activation_elements_per_pixel(truncated, 3, 32)
    # relu2's ancestors on a 32×32 tile save at least the input (3×32×32), conv1/relu1 (8×32×32),
    # pool1's input, conv2's input (8×16×16) and relu2's output (6×14×14), and less than 10 times that
    least = 3 * 32 * 32 + 8 * 32 * 32 + 8 * 16 * 16 + 6 * 14 * 14
    assert least / 1024 <= per_pixel <= 10 * least / 1024


def test_estimate_grows_with_the_image_and_the_batch():
    settings = DreamSettings(10, 1, 1.4, tile_size=224, max_batch=8)
    small = estimate_memory(4, 3, (224, 224), settings, 4, 100.0, CPU)
    large = estimate_memory(4, 3, (8000, 8000), settings, 4, 100.0, CPU)
    # 8000×8000×3×4 images in float32, twice: 3 GiB before the working set and the network
    assert large.peak_bytes >= 2 * 4 * 3 * 8000 * 8000 * 4 and large.peak_bytes > 50 * small.peak_bytes
    unbatched = estimate_memory(4, 3, (8000, 8000), DreamSettings(10, 1, 1.4, 224, 10**6), 4, 100.0, CPU)
    assert unbatched.pass_bytes > 100 * large.pass_bytes and unbatched.batch > large.batch


def test_refusal_names_estimate_limit_and_what_to_change():
    settings = DreamSettings(10, 3, 1.4, tile_size=224, max_batch=64)
    with pytest.raises(DeepDreamError) as info:
        check_memory(400.0, 8, 3, (8000, 8000), settings, torch.float32, CPU, limit=8 * 2**30)
    message = info.value.message
    assert "8.0 GiB is available" in message and "level 3" in message and "fewer channels" in message
    with pytest.raises(DeepDreamError, match="smaller MaxBatch / --max-batch .now 64 per pass"):
        check_memory(800.0, 1, 3, (1000, 1000), settings, torch.float32, CPU, limit=8 * 2**30)  # 64 tiles: 10 GB
    fits = check_memory(400.0, 1, 3, (224, 224), settings, torch.float32, CPU, limit=8 * 2**30)
    assert fits.peak_bytes < 8 * 2**30


def test_available_memory_of_the_host_is_known():
    available = available_bytes(CPU)
    total = int(next(line for line in open("/proc/meminfo") if line.startswith("MemTotal:")).split()[1]) * 1024
    assert available is not None and 0 < available <= total
    assert np.isfinite(available)


def test_a_start_image_that_cannot_fit_is_refused_before_its_size_is_probed(tiny, monkeypatch):
    """The size probe runs the network; on an image too large for memory the guard must answer first."""
    from deepdreamport.doors import guard
    from deepdreamport.nets.sizes import SizeProbe

    probed = []
    real_run = SizeProbe._run
    monkeypatch.setattr(SizeProbe, "_run", lambda probe, h, w: probed.append((h, w)) or real_run(probe, h, w))
    monkeypatch.setattr(guard, "available_bytes", lambda device: 8 * 2**20)  # 8 MiB free
    with pytest.raises(DeepDreamError) as info:
        deep_dream_image(tiny, "relu2", [0], initial_image=np.zeros((900, 700, 3), np.float32), callback=stop_at_once)
    assert info.value.identifier == OUT_OF_MEMORY
    assert not any(h >= 900 or w >= 700 for h, w in probed), probed

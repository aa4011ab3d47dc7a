"""Every door and recipe on an accelerator, without one: the foreign-device harness (:mod:`tests.foreign_device`).

Each run below is done twice, on the CPU and with the network on the stand-in accelerator (the
``meta`` device with real values), and must give the CPU's numbers; a tensor made on the CPU and
fed to the accelerator's tensors anywhere on the way fails the run as it fails on CUDA.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport import deep_dream_image, deepDreamImage, load_network
from deepdreamport.cli import main
from deepdreamport.nets.sizes import SizeProbe
from deepdreamport.optvis import render
from deepdreamport.parity.cases import load_case
from deepdreamport.parity.judge import judge_case
from deepdreamport.parity.record import RecordSpec, record_case
from tests.conftest import PARITY_MODELS, REFERENCE, TINYNET
from tests.foreign_device import DeviceMixup


def test_the_harness_refuses_what_cuda_refuses(accelerator) -> None:
    on_device = torch.ones(2, 3, device=accelerator)
    assert on_device.device == accelerator and (on_device * torch.tensor(2.0)).cpu().tolist() == [[2.0] * 3] * 2
    with pytest.raises(DeviceMixup, match="same device"):
        on_device + torch.ones(2, 3)  # noqa: B018 - the operation is the test
    with pytest.raises(DeviceMixup, match="generator"):
        torch.randn(3, generator=torch.Generator(), device=accelerator)
    with pytest.raises(TypeError, match="numpy"):
        on_device.numpy()
    assert torch.equal(on_device[torch.tensor([1])].cpu(), torch.ones(1, 3))  # CPU indices are allowed, as on CUDA


@pytest.fixture(scope="module")
def tinynet():
    return load_network(str(TINYNET))


@pytest.mark.parametrize(
    "options",
    [
        dict(initial_image=np.random.RandomState(0).rand(40, 36, 3), pyramid_levels=1, max_batch=3, dtype="double"),
        dict(pyramid_levels=2, host_state=True, callback=lambda *_: None),
    ],
    ids=["tiled-chunks", "host-state"],  # tiled in chunks of 3 tiles; the default image with the images on the host
)
def test_python_door(accelerator, tinynet, options) -> None:
    options = {"num_iterations": 2, "random_state": 0, "max_batch": 4, **options}
    on_cpu = deep_dream_image(tinynet, "relu2", [0, 2], device="cpu", **options)
    np.testing.assert_array_equal(deep_dream_image(tinynet, "relu2", [0, 2], device="gpu", **options), on_cpu)


def test_matlab_door(accelerator, tinynet) -> None:
    options = ("NumIterations", 2, "PyramidLevels", 2, "Verbose", False, "MaxBatch", 4, "RandomState", 0)
    on_cpu = deepDreamImage(tinynet, "fc", [1, 5], *options, "ExecutionEnvironment", "cpu")
    np.testing.assert_array_equal(
        deepDreamImage(tinynet, "fc", [1, 5], *options, "ExecutionEnvironment", "gpu"), on_cpu
    )


def test_command_line_dream(accelerator, tmp_path) -> None:
    arrays = {}
    for device in ("cpu", "gpu"):
        out = tmp_path / f"{device}.png"
        arguments = ["dream", str(TINYNET), "--layer", "relu1", "--channels", "1:2", "--device", device]
        assert main([*arguments, "--iterations", "2", "--levels", "1", "--max-batch", "4", "--out", str(out),
                     "--npy", str(tmp_path / f"{device}.npy")]) == 0  # fmt: skip
        arrays[device] = np.load(tmp_path / f"{device}.npy")
    np.testing.assert_array_equal(arrays["gpu"], arrays["cpu"])


@pytest.mark.parametrize(
    "options",
    [
        dict(param="fft"),
        dict(param="pixel", lucent=True),
        dict(param="laplacian", redirected_relu=True),
        dict(param="cppn", steps=1, size=16),  # 8 small layers per image: many operations
        dict(param="maco", transforms="none"),
    ],
    ids=lambda options: options["param"],
)
def test_render_every_parametrisation(accelerator, options) -> None:
    options = {"steps": 2, "size": 32, **options}
    on_cpu = render(str(TINYNET), "relu2:0,relu2:3", device="cpu", **options)
    on_device = render(str(TINYNET), "relu2:0,relu2:3", device=accelerator, **options)
    np.testing.assert_array_equal(on_device.images, on_cpu.images)
    np.testing.assert_array_equal(on_device.losses, on_cpu.losses)


def test_parity_check_runs_the_case_on_the_device(accelerator) -> None:
    judgement = judge_case(load_case(REFERENCE / "cases" / "tinynet_conv2_tiled.mat"), PARITY_MODELS, str(accelerator))
    assert judgement.result.passed, judgement.result


def test_parity_record_on_the_device(accelerator, tmp_path) -> None:
    recorded = {}
    for device in ("cpu", "gpu"):
        spec = RecordSpec(TINYNET, "relu2", (1, 2), name=device, iterations=2, levels=2, device=device)
        recorded[device] = record_case(spec, tmp_path)
    assert recorded["gpu"].provenance.device == str(accelerator)
    np.testing.assert_array_equal(recorded["gpu"].iraw, recorded["cpu"].iraw)
    np.testing.assert_array_equal(recorded["gpu"].activation_log, recorded["cpu"].activation_log)


def test_a_device_mixup_inside_a_network_is_not_taken_for_a_size_it_refuses(accelerator) -> None:
    class MakesACpuTensor(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(1))

        def forward(self, images):
            return images * self.scale + torch.ones(images.shape[-1])  # made on the CPU: the bug

    probe = SizeProbe(MakesACpuTensor().to(accelerator), 3, (8, 8))
    with pytest.raises(DeviceMixup, match="same device"):
        probe.accepts(9, 9)

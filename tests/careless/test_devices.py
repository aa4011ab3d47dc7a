"""Devices this machine lacks: refused before any work, one line naming ``--device``, exit 2.

``cuda`` without a GPU, a GPU index beyond those present, ``meta`` (no values) and
device types torch knows but this machine lacks, for every command that takes a
device, and for the Python doors of ``render``, ``deep_dream_image`` and the parity
pytest plugin. (The machine running the tests has no GPU; CUDA is hidden otherwise.)
"""

from __future__ import annotations

import pytest
import torch

from deepdreamport.doors import cli as dream_cli
from deepdreamport.optvis import cli as render_cli
from deepdreamport.optvis.rendering import render
from deepdreamport.parity import cli as parity_cli
from deepdreamport.parity import plugin

from ..conftest import REFERENCE, TINYNET
from .conftest import QUICK_DREAM, QUICK_RENDER, assert_refused, run

COMMANDS = {
    "dream": ["dream", TINYNET, "--layer", "relu2", "--channels", "1", *QUICK_DREAM, "--out", "d.png"],
    "demo": ["demo", "--model", TINYNET, "--out", "d.png"],
    "render": ["render", TINYNET, "--objective", "conv2:1", *QUICK_RENDER, "--out", "r.png"],
    "parity": ["parity", REFERENCE / "cases", "--models", REFERENCE / "models", "--junit-xml", "j.xml"],
    "parity record": ["parity", "record", TINYNET, "--layer", "relu2", "--channels", "1", "--out", "cases"],
}
DEVICES = {"cuda": "no CUDA GPU", "cuda:7": "no CUDA GPU", "meta": "holds no values", "mps": "not available"}


@pytest.fixture
def no_gpu_and_no_work(monkeypatch):
    """No GPU (whatever the machine has), and any network load fails the test: the device comes first."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    def work(*_args, **_kwargs):
        raise AssertionError("work started before the device was checked")

    monkeypatch.setattr(dream_cli, "load_network", work)
    monkeypatch.setattr(render_cli.OptvisNetwork, "from_onnx", work)
    monkeypatch.setattr(parity_cli, "judge_case", work)
    monkeypatch.setattr("deepdreamport.parity.record.load_network", work)


@pytest.mark.parametrize("device", list(DEVICES))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_missing_device_is_refused_before_any_work(
    command, device, capsys, tmp_path, monkeypatch, no_gpu_and_no_work
):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *COMMANDS[command], "--device", device)
    assert_refused(code, err, command.split()[0], "--device", repr(device), DEVICES[device])
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_device_name_is_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, *COMMANDS["render"], "--device", "tpu")
    assert_refused(code, err, "render", "--device", "expected 'auto', 'gpu', 'cpu' or a torch device", "'tpu'")


@pytest.mark.parametrize("device", ["cuda", "meta", "cuda:3"])
def test_the_render_python_door_checks_its_device_first(device, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(Exception) as info:
        render(str(TINYNET), "conv2:0", size=16, steps=1, device=device)
    assert type(info.value).__name__ == "DeepDreamError" and str(info.value).startswith("device: ")


def test_the_pytest_plugin_refuses_a_missing_device_before_any_case(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    class Config:
        options = {
            "deepdream_cases": [str(REFERENCE / "cases")],
            "deepdream_models": str(REFERENCE / "models"),
            "deepdream_device": "cuda",
            "deepdream_report": None,
        }

        def getoption(self, name):
            return self.options[name]

    with pytest.raises(pytest.UsageError, match="--deepdream-device: 'cuda' was requested but no CUDA GPU"):
        plugin.pytest_collection_modifyitems(None, Config(), [])
    Config.options.update(deepdream_device="cpu", deepdream_report=str(TINYNET))
    with pytest.raises(pytest.UsageError, match="--deepdream-report: .* is a file, not a folder"):
        plugin.pytest_collection_modifyitems(None, Config(), [])

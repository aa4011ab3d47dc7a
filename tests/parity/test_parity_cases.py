"""End-to-end parity with MATLAB: every reference case, and the judge itself."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import scipy.io
import torch

from deepdreamport.core.loop import DreamSettings
from deepdreamport.doors.run import run_deep_dream
from deepdreamport.matlab.rng import twister
from deepdreamport.nets import load_network as as_network
from deepdreamport.parity import find_cases, load_case, run_case

from ..conftest import REFERENCE

CASES = find_cases([REFERENCE / "cases"])
MODELS = REFERENCE / "models"


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_reference_case_within_tolerance(path):
    case = load_case(path)
    result = run_case(case, MODELS)
    assert result.rolls_match
    assert result.iraw_relative_error <= result.tolerance
    assert result.ilinear_relative_error <= result.tolerance
    assert result.strength_abs_error <= 1e-4
    assert result.passed


def test_reference_cases_cover_both_precisions_and_tiling():
    cases = [load_case(p) for p in CASES]
    assert {c.precision for c in cases} == {"single", "double"}
    assert any(len(c.rolls) for c in cases) and any(not len(c.rolls) for c in cases)


def _write_variant(source, target, **changes):
    data = scipy.io.loadmat(str(source))
    data = {k: v for k, v in data.items() if not k.startswith("__")}
    data.update(changes)
    scipy.io.savemat(str(target), data)


def _cli_parity(folder):
    return subprocess.run(
        [sys.executable, "-m", "deepdreamport", "parity", str(folder), "--models", str(MODELS), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_judges_unseen_cases(tmp_path):
    """A renamed good case passes; perturbed images, strengths or rolls fail."""
    source = REFERENCE / "cases" / "tinynet_conv2_tiled.mat"
    original = load_case(source)
    shutil.copy(source, tmp_path / "renamed_good.mat")
    _write_variant(source, tmp_path / "bad_image.mat", Iraw=original.iraw * (1 + 1e-8))
    log = original.activation_log.copy()
    log[0, 2] += 1e-3
    _write_variant(source, tmp_path / "bad_strength.mat", activationLog=log)
    rolls = original.rolls.copy()
    rolls[0, 0] = rolls[0, 0] % original.tile_size + 1
    _write_variant(source, tmp_path / "bad_rolls.mat", rolls=rolls)
    completed = _cli_parity(tmp_path)
    verdicts = {r["case"]: r["passed"] for r in map(json.loads, completed.stdout.splitlines())}
    assert verdicts == {"renamed_good": True, "bad_image": False, "bad_strength": False, "bad_rolls": False}
    assert completed.returncode == 1


@pytest.mark.slow
def test_cli_passes_on_a_new_case_with_other_options(tmp_path):
    """A case with options none of the references use, judged against an independent float64 run."""
    source = REFERENCE / "cases" / "tinynet_relu2_single_level.mat"
    case = load_case(source)
    network = as_network(MODELS / case.network)
    image = case.initial_image[:28, :30].astype(np.float32)
    result = run_deep_dream(
        network,
        "relu1",
        [0, 7, 7],
        initial_image=image.astype(np.float64),
        settings=DreamSettings(2, 2, 1.6),
        dtype=torch.float64,
        device=torch.device("cpu"),
        stream=twister(11),
        tile_size=32,
    )
    raw = result.images.numpy().transpose(2, 3, 1, 0)
    lo = raw.reshape(-1, raw.shape[-1]).min(0)
    hi = raw.reshape(-1, raw.shape[-1]).max(0)
    _write_variant(
        source,
        tmp_path / "relu1_new.mat",
        layer="relu1",
        channels=np.array([[1.0, 8.0, 8.0]]),
        InitialImage=image,
        NumIterations=2.0,
        PyramidLevels=2.0,
        PyramidScale=1.6,
        rngSeed=11.0,
        precision="single",
        Iraw=raw.astype(np.float32),
        Ilinear=((raw - lo) / (hi - lo)).astype(np.float32),
        activationLog=result.activation_log,
        rolls=np.asarray(result.rolls, dtype=np.float64).reshape(-1, 2),
    )
    completed = _cli_parity(tmp_path)
    (record,) = map(json.loads, completed.stdout.splitlines())
    assert record["passed"], record
    assert completed.returncode == 0


def test_same_seed_gives_bit_identical_output():
    case = load_case(REFERENCE / "cases" / "dagnet_cat_relu_three_levels.mat")
    first = run_case(case, MODELS)
    network = as_network(MODELS / case.network)

    def once():
        return run_deep_dream(
            network,
            case.layer,
            [c - 1 for c in case.channels],
            initial_image=case.initial_image,
            settings=DreamSettings(case.num_iterations, case.pyramid_levels, case.pyramid_scale),
            dtype=torch.float32,
            device=torch.device("cpu"),
            stream=twister(case.rng_seed),
        ).images

    assert first.passed
    assert torch.equal(once(), once())


def test_strengths_read_from_the_printed_table_are_judged_at_its_resolution(tmp_path):
    """make_reference.m records strengths rounded to the table's two decimals (strengthResolution 0.01)."""
    source = REFERENCE / "cases" / "tinynet_conv2_tiled.mat"
    case = load_case(source)
    rounded = case.activation_log.copy()
    rounded[:, 2] = np.round(rounded[:, 2], 2)
    worst = float(np.max(np.abs(rounded[:, 2] - case.activation_log[:, 2])))
    assert worst > 1e-4  # without the resolution the rounded log would fail
    _write_variant(source, tmp_path / "rounded.mat", activationLog=rounded, strengthResolution=0.01)
    _write_variant(source, tmp_path / "rounded_no_resolution.mat", activationLog=rounded)
    off_by_a_digit = rounded.copy()
    off_by_a_digit[0, 2] += 0.01
    _write_variant(source, tmp_path / "off_by_a_digit.mat", activationLog=off_by_a_digit, strengthResolution=0.01)
    verdicts = {p.stem: run_case(load_case(p), MODELS).passed for p in sorted(tmp_path.glob("*.mat"))}
    assert verdicts == {"rounded": True, "rounded_no_resolution": False, "off_by_a_digit": False}

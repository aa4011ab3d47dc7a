"""Recording cases with the port: fields, provenance, round trips, batch files, bad input."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import shutil

import numpy as np
import pytest
import torch

import deepdreamport
from deepdreamport import deepDreamImage
from deepdreamport.parity import load_case, run_case
from deepdreamport.parity.cli import main as parity_main
from deepdreamport.parity.record import RecordSpec, record_case

from ..conftest import REFERENCE
from .conftest import EFFICIENTNET, TINYNET, read_mat_fields

MATLAB_CASE = REFERENCE / "cases" / "tinynet_relu2_single_level.mat"


@pytest.mark.parametrize("precision, array_type", [("double", np.float64), ("single", np.float32)])
def test_recorded_case_has_the_fields_of_a_matlab_case(recorded_tinynet, precision, array_type):
    matlab = read_mat_fields(MATLAB_CASE)
    recorded = read_mat_fields(recorded_tinynet / f"tinynet_relu2_{precision}.mat")
    assert set(matlab) <= set(recorded)
    for field in ("InitialImage", "Iraw", "Ilinear"):
        assert recorded[field].dtype == array_type
    assert recorded["Iraw"].shape == (40 + 16, 36 + 14, 3, 2)  # floor(40*1.4) x floor(36*1.4), K = 2
    assert recorded["channels"].tolist() == [[1.0, 3.0]]
    assert recorded["activationLog"][:, :2].tolist() == [[1, 1], [1, 2], [2, 1], [2, 2]]
    assert recorded["rolls"].shape == (4, 2)  # both levels exceed tinynet's 32-pixel tile
    assert recorded["TileSize"].item() == 32 and recorded["precision"].item() == precision


def test_provenance_names_the_port_its_stack_and_the_model(recorded_tinynet, tinynet_models):
    case = load_case(recorded_tinynet / "tinynet_relu2_double.mat")
    provenance = case.provenance
    assert provenance.recorded_by == "deepdreamport"
    assert provenance.package_version == deepdreamport.__version__
    assert provenance.torch_version == torch.__version__
    assert provenance.onnx2torch_version == importlib.metadata.version("onnx2torch")
    assert provenance.device == "cpu"
    assert provenance.model_sha256 == hashlib.sha256((tinynet_models / "tinynet.onnx").read_bytes()).hexdigest()
    assert "not MATLAB" in provenance.source and provenance.model_sha256 in provenance.source


def test_recorded_images_are_what_the_matlab_front_door_returns(recorded_tinynet):
    """The case stores deepDreamImage's own H×W×C×K output for the stored image and seed."""
    case = load_case(recorded_tinynet / "tinynet_relu2_double.mat")
    images = deepDreamImage(
        str(TINYNET),
        case.layer,
        list(case.channels),
        "InitialImage",
        case.initial_image,
        "NumIterations",
        2,
        "PyramidLevels",
        2,
        "OutputScaling",
        "none",
        "Precision",
        "double",
        "RandomState",
        case.rng_seed,
        "Verbose",
        False,
    )
    assert np.array_equal(images, case.iraw)


def test_cli_record_and_batch_then_check_round_trip(tmp_path, capsys):
    """Record float64 by options and float32 by a TOML batch, then check both: exit 0, zero error."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(TINYNET, models / "tinynet.onnx")
    common = ["--iterations", "2", "--levels", "2", "--size", "40x36", "--seed", "5"]
    argv = [
        "record",
        str(models / "tinynet.onnx"),
        "--layer",
        "conv2",
        "--channels",
        "2:3",
        *common,
        "--precision",
        "double",
        "--out",
        str(tmp_path / "cases"),
    ]
    assert parity_main(argv) == 0
    (tmp_path / "batch.toml").write_text(
        '[defaults]\nmodel = "models/tinynet.onnx"\niterations = 2\nlevels = 2\nsize = [40, 36]\nseed = 5\n\n'
        '[[case]]\nname = "conv2_single"\nlayer = "conv2"\nchannels = "2:3"\nprecision = "single"\n\n'
        '[[case]]\nname = "relu1_single"\nlayer = "relu1"\nchannels = [8, 8]\nprecision = "single"\n'
    )
    assert parity_main(["record", "--batch", str(tmp_path / "batch.toml"), "--out", str(tmp_path / "cases")]) == 0
    capsys.readouterr()
    status = parity_main([str(tmp_path / "cases"), "--models", str(models), "--json"])
    records = {r["case"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert set(records) == {"tinynet_conv2_double", "conv2_single", "relu1_single"}
    assert all(
        r["passed"] and r["iraw_relative_error"] == 0 and r["recorded_by"] == "deepdreamport" for r in records.values()
    )
    assert status == 0


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["double", "single"])
def test_efficientnet_lite0_round_trip(tmp_path, precision):
    case = record_case(
        RecordSpec(EFFICIENTNET, "_blocks/2/Add", (1, 5), size=(48, 48), iterations=2, levels=1, precision=precision),
        tmp_path,
    )
    result = run_case(load_case(case.path), EFFICIENTNET.parent)
    assert result.passed and result.recorded_by == "deepdreamport"
    assert result.iraw_relative_error == 0 and result.strength_abs_error == 0
    assert case.iraw.shape == (48, 48, 3, 2) and case.iraw.dtype == (
        np.float64 if precision == "double" else np.float32
    )


def _bad(argv, capsys) -> str:
    assert parity_main([str(a) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("deepdream parity: error: ")
    return err


def test_bad_recording_input_is_one_line_naming_the_argument(tmp_path, capsys):
    (tmp_path / "batch.toml").write_text('[[case]]\nmodel = "m.onnx"\nlayer = "x"\nchannels = 1\ncolour = 3\n')
    assert "--batch" in _bad(["record", "--batch", tmp_path / "batch.toml", "--out", tmp_path], capsys)
    assert "--layer" in _bad(["record", TINYNET, "--channels", "1", "--out", tmp_path], capsys)
    assert "--out" in _bad(["record", TINYNET, "--layer", "relu1", "--channels", "1"], capsys)
    assert "--size" in _bad(
        ["record", TINYNET, "--layer", "relu1", "--channels", "1", "--size", "big", "--out", tmp_path], capsys
    )
    assert "--channels" in _bad(["record", TINYNET, "--layer", "relu1", "--channels", "0", "--out", tmp_path], capsys)
    assert "MODEL" in _bad(
        ["record", tmp_path / "missing.onnx", "--layer", "relu1", "--channels", "1", "--out", tmp_path], capsys
    )
    assert list(tmp_path.glob("*.mat")) == []


def test_an_existing_case_is_never_replaced_without_overwrite(recorded_tinynet, capsys, tmp_path):
    target = tmp_path / "tinynet_relu2_double.mat"
    shutil.copy(recorded_tinynet / target.name, target)
    before = target.read_bytes()
    argv = [
        "record",
        TINYNET,
        "--layer",
        "relu2",
        "--channels",
        "1",
        "--iterations",
        "1",
        "--levels",
        "1",
        "--size",
        "40x36",
        "--out",
        tmp_path,
    ]
    assert "--overwrite" in _bad(argv, capsys)
    assert target.read_bytes() == before
    assert parity_main([str(a) for a in argv] + ["--overwrite"]) == 0
    assert load_case(target).channels == (1,) and not list(tmp_path.glob(".*.part"))

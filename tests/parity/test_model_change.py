"""A CI user's parity kit: `record --help`, compressed case files, accepting a re-exported model."""

from __future__ import annotations

import json
import shutil
import struct
import xml.etree.ElementTree as ET

import numpy as np
import scipy.io

from deepdreamport.parity import load_case
from deepdreamport.parity.cli import main as parity_main

from .conftest import read_mat_fields

MI_COMPRESSED = 15  # MAT v5 data type of a zlib-compressed data element


def test_record_help_shows_the_options_of_record(capsys):
    assert parity_main(["record", "--help"]) == 0
    record_help = capsys.readouterr().out
    assert record_help.startswith("usage: deepdream parity record MODEL --layer L --channels C --out DIR")
    for option in ("--layer", "--channels", "--batch", "--precision", "--update-model", "--overwrite"):
        assert option in record_help
    assert "--junit-xml" not in record_help and "--accept-model-change" not in record_help

    assert parity_main(["--help"]) == 0
    check_help = capsys.readouterr().out
    assert "--junit-xml" in check_help and "--accept-model-change" in check_help and "record --help" in check_help


def _element_types(path) -> list[int]:
    """The data type of every top-level data element of a MAT v5 file (after its 128-byte header)."""
    data = path.read_bytes()
    types, offset = [], 128
    while offset < len(data):
        kind, size = struct.unpack("<II", data[offset : offset + 8])
        types.append(kind)
        offset += 8 + size + (-size % 8 if kind != MI_COMPRESSED else 0)
    return types


def test_recorded_cases_are_compressed_and_load_as_written(recorded_tinynet, tmp_path):
    path = recorded_tinynet / "tinynet_relu2_double.mat"
    types = _element_types(path)
    assert len(types) >= 15 and set(types) == {MI_COMPRESSED}
    fields = read_mat_fields(path)
    scipy.io.savemat(tmp_path / "plain.mat", fields, do_compression=False)
    assert path.stat().st_size < (tmp_path / "plain.mat").stat().st_size
    plain = read_mat_fields(tmp_path / "plain.mat")
    assert fields.keys() == plain.keys()
    for key in fields:
        assert fields[key].dtype == plain[key].dtype and np.array_equal(fields[key], plain[key]), key


def _cases(tmp_path, recorded_tinynet, precisions=("double",)):
    folder = tmp_path / "cases"
    folder.mkdir()
    for precision in precisions:
        shutil.copy(recorded_tinynet / f"tinynet_relu2_{precision}.mat", folder)
    return folder


def test_accept_model_change_passes_a_reexported_model_and_says_so(
    tmp_path, capsys, recorded_tinynet, reexported_tinynet_models
):
    cases = _cases(tmp_path, recorded_tinynet)
    assert parity_main([str(cases), "--models", str(reexported_tinynet_models)]) == 1
    out = capsys.readouterr().out
    assert "FAIL (model changed)" in out and "--accept-model-change" in out

    junit = tmp_path / "parity.xml"
    argv = [str(cases), "--models", str(reexported_tinynet_models), "--accept-model-change"]
    assert parity_main([*argv, "--junit-xml", str(junit)]) == 0
    out = capsys.readouterr().out
    assert "PASS (model changed, accepted)" in out and "accepted by --accept-model-change" in out
    testcase = ET.parse(junit).getroot().find("testsuite/testcase")
    assert testcase.find("failure") is None and "accepted by --accept-model-change" in testcase.find("system-out").text

    assert parity_main([*argv, "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["passed"] and verdict["model_changed"] and verdict["model_change_accepted"]
    assert verdict["failure_kind"] == ""


def test_accept_model_change_never_passes_changed_numbers_or_a_float32_case(
    tmp_path, capsys, recorded_tinynet, perturbed_tinynet_models, reexported_tinynet_models
):
    cases = _cases(tmp_path, recorded_tinynet, ("double", "single"))
    assert parity_main([str(cases), "--models", str(perturbed_tinynet_models), "--accept-model-change"]) == 1
    out = capsys.readouterr().out
    assert "tinynet_relu2_double (double, recorded by deepdreamport): FAIL (model changed and numeric)" in out

    assert parity_main([str(cases), "--models", str(reexported_tinynet_models), "--accept-model-change"]) == 1
    out = capsys.readouterr().out
    assert "PASS (model changed, accepted)" in out  # the float64 case
    assert "tinynet_relu2_single (single, recorded by deepdreamport): FAIL (model changed)" in out
    assert "a float32 case is never accepted" in out


def test_update_model_stores_the_new_sha256_after_checking_the_numbers(
    tmp_path, capsys, recorded_tinynet, reexported_tinynet_models
):
    cases = _cases(tmp_path, recorded_tinynet)
    case_file = cases / "tinynet_relu2_double.mat"
    before = load_case(case_file)
    update = ["record", "--update-model", str(cases), "--models", str(reexported_tinynet_models), "--out", str(cases)]
    assert parity_main(update) == 2  # the case's own file: only with --overwrite
    assert "pass --overwrite" in capsys.readouterr().err
    assert parity_main([*update, "--overwrite"]) == 0
    assert "model sha256" in capsys.readouterr().out

    after = load_case(case_file)
    assert after.provenance.model_sha256 != before.provenance.model_sha256
    assert "model sha256 updated from" in after.provenance.source
    assert np.array_equal(after.iraw, before.iraw) and np.array_equal(after.activation_log, before.activation_log)
    assert parity_main([str(cases), "--models", str(reexported_tinynet_models)]) == 0


def test_update_model_writes_nothing_when_the_numbers_changed(
    tmp_path, capsys, recorded_tinynet, perturbed_tinynet_models
):
    cases = _cases(tmp_path, recorded_tinynet)
    original = (cases / "tinynet_relu2_double.mat").read_bytes()
    update = ["record", "--update-model", str(cases), "--models", str(perturbed_tinynet_models)]
    assert parity_main([*update, "--out", str(cases), "--overwrite"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("nothing written") and "FAIL (model changed and numeric)" in out
    assert (cases / "tinynet_relu2_double.mat").read_bytes() == original
    assert sorted(p.name for p in cases.iterdir()) == ["tinynet_relu2_double.mat"]

    assert parity_main([*update, "--out", str(tmp_path / "elsewhere")]) == 1
    assert not (tmp_path / "elsewhere").exists()

"""Careless inputs to the features of the v7.3/token-layer/operators day (issue careless2), one class each.

* parity case files: every variable ``load_case`` reads is checked for presence, class (the run's
  precision) and shape before the case runs, and a file that is not a readable MAT-file says what
  it is; a broken case stays a failed case (exit 1, ``could not run: ...`` naming file and variable);
  a symlink loop in a cases folder is not followed;
* layer kinds: a layer whose first dimension (for one image) is not 1 has no batch first, so no
  recipe is planned on it (the atlas's matlab recipe failed on an attention block's internals);
* objective positions: shown as the user counted them (the command line from 1, Python from 0);
* GroupNormalization: ``num_groups`` not dividing the channels, a scale of the wrong length or
  ``num_groups`` 0 is one line naming the node, in every command (was an internal error in render).

References: the repository's MATLAB case (its arrays, edited), onnxruntime's layer shapes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import hdf5storage
import numpy as np
import onnx
import pytest
import scipy.io
from onnx import TensorProto, helper, numpy_helper

from deepdreamport import DeepDreamError
from deepdreamport.atlas.layer_kinds import OTHER, layer_kind
from deepdreamport.optvis import objectives

from ..conftest import REFERENCE
from .conftest import QUICK_DREAM, assert_refused, run

SOURCE = REFERENCE / "cases" / "tinynet_conv2_tiled.mat"
MODELS = REFERENCE / "models"


def _fields() -> dict:
    data = scipy.io.loadmat(str(SOURCE))
    return {k: (str(v[0]) if v.dtype.kind == "U" else v) for k, v in data.items() if not k.startswith("__")}


def _save_v73(path: Path, fields: dict) -> Path:
    hdf5storage.savemat(str(path), fields, format="7.3", oned_as="row", store_python_metadata=False)
    return path


def _edited(change):
    def make(path: Path) -> Path:
        fields = _fields()
        change(fields)
        return _save_v73(path, fields)

    return make


def _truncated(path: Path) -> Path:
    whole = _save_v73(path.with_name("whole.mat"), _fields()).read_bytes()
    path.write_bytes(whole[: len(whole) // 2])
    return path


BAD_CASES = {
    "truncated v7.3": (_truncated, "HDF5 data cannot be read"),
    "truncated v7": (lambda p: p.write_bytes(SOURCE.read_bytes()[:300]) and p, "not a readable MAT-file"),
    "zero bytes": (lambda p: p.write_bytes(b"") is not None and p, "is empty (0 bytes)"),
    "a variable missing": (_edited(lambda f: f.pop("Ilinear")), "missing fields ['Ilinear']"),
    "single where double": (
        _edited(lambda f: f.update(Iraw=f["Iraw"].astype(np.float32))),
        "Iraw: expected float64 (MATLAB double)",
    ),
    "Iraw of another K": (_edited(lambda f: f.update(Iraw=f["Iraw"][..., :2])), "Iraw: expected H×W×3×3"),
    "a 2-D InitialImage": (
        _edited(lambda f: f.update(InitialImage=f["InitialImage"][..., 0])),
        "InitialImage: expected an H×W×C image",
    ),
    "a fractional channel": (_edited(lambda f: f.update(channels=np.array([[1.5]]))), "channels: expected whole"),
    "text NumIterations": (_edited(lambda f: f.update(NumIterations="ten")), "NumIterations: expected one finite"),
    "activationLog of 2 columns": (
        _edited(lambda f: f.update(activationLog=np.zeros((2, 2)))),
        "activationLog: expected rows of 3",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_CASES))
def test_a_broken_case_file_fails_naming_file_and_variable(kind, tmp_path, capsys):
    make, words = BAD_CASES[kind]
    case = make(tmp_path / "case.mat")
    before = case.read_bytes()
    code, out, err = run(capsys, "parity", case, "--models", MODELS, "--json")
    assert code == 1, err
    error = json.loads(out)["error"]
    assert str(case) in error and words in error, error
    assert "KeyError" not in error and "could not convert" not in error
    assert case.read_bytes() == before


def test_the_python_door_refuses_a_case_of_the_wrong_class(tmp_path):
    from deepdreamport.parity import load_case

    case = _edited(lambda f: f.update(Ilinear=f["Ilinear"].astype(np.float32)))(tmp_path / "case.mat")
    with pytest.raises(ValueError, match="Ilinear: expected float64"):
        load_case(case)


def test_a_symlink_loop_in_a_cases_folder_is_not_followed(tmp_path, capsys):
    cases = tmp_path / "cases"
    (cases / "sub").mkdir(parents=True)
    _save_v73(cases / "sub" / "v73.mat", _fields())
    (cases / "junk.mat").write_bytes(b"junk")
    (cases / "sub" / "up").symlink_to("..")
    (cases / "self").symlink_to(".")
    code, out, err = run(capsys, "parity", cases, "--models", MODELS, "--json")
    assert code == 0, err
    assert [json.loads(line)["case"] for line in out.splitlines()] == ["v73"]
    assert (
        err.strip()
        == f"skipped {cases / 'junk.mat'}: not a parity case (it lacks network, layer, channels, InitialImage, Iraw)"
    )


def test_a_layer_without_the_batch_first_is_no_recipes_kind():
    # shapes onnxruntime gives for one image inside torch's MultiheadAttention (sequence first)
    for shape in ((17, 1, 3, 16), (3, 17, 1, 16), (17, 16), (17, 1, 48)):
        assert layer_kind({"output_shape": list(shape)}) == OTHER, shape
    assert layer_kind({"output_shape": [1, 17, 32]}) == "tokens"
    assert layer_kind({"output_shape": [None, 6, 7, 7]}) == "spatial"


def test_a_position_out_of_the_map_is_shown_as_the_user_counted_it(capsys, tmp_path):
    code, _, err = run(
        capsys, "render", MODELS / "tinynet.onnx", "--objective", "neuron(conv2:1,40,40)",
        "--size", "32", "--steps", "1", "--quiet", "--out", tmp_path / "r.png",
    )  # fmt: skip
    assert_refused(code, err, "render", "position x=40, y=40", "x from 1 to 26, y from 1 to 26")
    assert not (tmp_path / "r.png").exists()
    from deepdreamport.optvis import render

    with pytest.raises(DeepDreamError, match=r"x=26, y=26 is outside .*x from 0 to 25"):
        render(
            str(MODELS / "tinynet.onnx"), objectives.neuron("conv2", 0, x=26, y=26), size=32, steps=1, progress=False
        )


def _group_norm_net(path: Path, num_groups: int, scale_length: int, opset: int) -> Path:
    state = np.random.RandomState(0)
    initialisers = [
        numpy_helper.from_array((state.randn(6, 3, 3, 3) / 9).astype(np.float32), "w"),
        numpy_helper.from_array(np.ones(scale_length, np.float32), "s"),
        numpy_helper.from_array(np.zeros(scale_length, np.float32), "b"),
    ]
    nodes = [
        helper.make_node("Conv", ["data", "w"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("GroupNormalization", ["c", "s", "b"], ["y"], name="gn", num_groups=num_groups),
    ]
    graph = helper.make_graph(
        nodes,
        "gn",
        [helper.make_tensor_value_info("data", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initialisers,
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return path


GROUP_NORMS = {
    "num_groups 4 of 6 channels": ((4, 4, 18), "num_groups=4 does not divide the input's 6 channels"),
    "a scale of 5 for 3 groups of 6": ((3, 5, 21), "scale has 5 values; expected one per group (3) or one per channel"),
    "num_groups 0": ((0, 6, 21), "num_groups must be an integer ≥ 1"),
}


@pytest.mark.parametrize("command", ["dream", "render"])
@pytest.mark.parametrize("case", list(GROUP_NORMS))
def test_a_bad_group_normalization_names_its_node(case, command, tmp_path, capsys):
    (groups, length, opset), words = GROUP_NORMS[case]
    model = _group_norm_net(tmp_path / "gn.onnx", groups, length, opset)
    if command == "dream":
        argv = ["dream", model, "--layer", "gn", "--channels", "1", *QUICK_DREAM, "--out", tmp_path / "d.png"]
    else:
        argv = ["render", model, "--objective", "gn:1", "--size", "16", "--steps", "1", "--quiet"]
        argv += ["--out", tmp_path / "r.png"]
    code, _, err = run(capsys, *argv)
    assert_refused(code, err, command, "node 'gn' (operator GroupNormalization", words)
    assert sorted(os.listdir(tmp_path)) == ["gn.onnx"]


@pytest.mark.parametrize(
    ("out", "words"),
    [
        ("/etc/passwd", "is a file, not a folder"),
        ("/etc/passwd/x", "'/etc/passwd' in '/etc/passwd/x' is a file"),
        ("", "is empty"),
    ],
)
def test_the_export_sweep_refuses_an_out_it_cannot_write(out, words, capsys):
    from benchmarks.export_sweep import main as export_sweep

    assert export_sweep([out, "resnet18_l17"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("export_sweep: error: OUT: ") and words in err and "\n" not in err

"""Layers named by numbers (``265``, as older PyTorch exports name nodes): an exact name wins.

On the command line (``dream --layer``, ``render --objective``, ``atlas --layers``,
``parity record --layer``) a text that is exactly a layer's name is that layer,
``#N`` is row N, other whole numbers are rows, and a name that is also the number
of another row is refused naming both readings. Labels and recorded cases name the
layer, never its row. In the Python and MATLAB doors a string is a name and an
integer an index. The network: ``conftest.build_numbered_network`` (non-square input).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from deepdreamport import DeepDreamError, deep_dream_image, deepDreamImage, load_network
from deepdreamport.atlas.errors import AtlasInputError
from deepdreamport.atlas.job import plan_atlas
from deepdreamport.doors import cli as dream_cli
from deepdreamport.doors.numbering import layer_from_text, layer_name_from_text
from deepdreamport.optvis import cli as render_cli
from deepdreamport.parity.cases import load_case

from .conftest import QUICK_DREAM, QUICK_RENDER, assert_refused, run

NAMES = ["data", "11", "3", "2", "265", "pool"]
AMBIGUOUS = "'2' is ambiguous: the layer named '2' (row 4) or row 2 (layer '11'); write #4 for the first or #2"
QUICK = dict(num_iterations=1, pyramid_levels=1, random_state=0)


@pytest.mark.parametrize(
    "text, expected",
    [("265", "265"), ("3", "3"), ("#4", 4), ("#2", 2), ("5", 5), ("pool", "pool"), ("nope", "nope"), ("99", 99)],
)
def test_the_rule(text, expected):
    assert layer_from_text(text, NAMES, "--layer") == expected


@pytest.mark.parametrize("text", ["2", "#2 "])
def test_a_name_that_is_another_rows_number_is_refused_naming_both(text):
    names = NAMES if text == "2" else [*NAMES[:3], "#2 ", *NAMES[4:]]
    with pytest.raises(DeepDreamError, match="is ambiguous") as info:
        layer_from_text(text, names, "--layer")
    assert "row 4" in str(info.value) and "#4" in str(info.value) and "#2" in str(info.value)
    assert layer_name_from_text("#4", NAMES, "--layer") == "2" and layer_name_from_text("#2", NAMES, "--layer") == "11"
    with pytest.raises(DeepDreamError, match="row 9 is out of range; .* rows 1..6"):
        layer_name_from_text("9", NAMES, "--layer")
    with pytest.raises(DeepDreamError, match="--layer: the layer name is empty"):
        layer_from_text(" ", NAMES, "--layer")


@pytest.fixture
def labels(monkeypatch):
    """The montage labels every command draws."""
    seen: list[list[str]] = []
    for module in (dream_cli, render_cli):
        original = module.montage
        monkeypatch.setattr(
            module,
            "montage",
            lambda images, names, original=original, **style: (
                seen.append(list(names)),
                original(images, names, **style),
            )[1],
        )
    return seen


def test_dream_by_name_and_by_row(numbered, tmp_path, capsys, labels):
    def dream(layer, name):
        return run(capsys, "dream", numbered, "--layer", layer, "--channels", "1", *QUICK_DREAM,
                   "--out", tmp_path / f"{name}.png", "--npy", tmp_path / f"{name}.npy", "--mat", tmp_path / f"{name}.mat")  # fmt: skip

    code, _, err = dream("2", "ambiguous")
    assert_refused(code, err, "dream", f"--layer: {AMBIGUOUS}")
    assert dream("#4", "row4")[0] == 0 and dream("265", "name")[0] == 0 and dream("5", "row5")[0] == 0
    assert dream("3", "own_row")[0] == 0  # its name is its own row: no ambiguity
    assert labels == [["2 ch 1"], ["265 ch 1"], ["265 ch 1"], ["3 ch 1"]]  # names, never row numbers
    assert scipy.io.loadmat(tmp_path / "row4.mat")["layer"][0] == "2"
    np.testing.assert_array_equal(np.load(tmp_path / "name.npy"), np.load(tmp_path / "row5.npy"))
    assert np.load(tmp_path / "row4.npy").shape[:3] == (5, 5, 3)  # the receptive field of layer '2'


def test_python_and_matlab_doors_read_strings_as_names_and_integers_as_indices(numbered):
    network = load_network(str(numbered))
    by_name = deep_dream_image(network, "2", [0], **QUICK)
    np.testing.assert_array_equal(by_name, deep_dream_image(network, 3, [0], **QUICK))  # 0-based index 3: row 4
    matlab = ("NumIterations", 1, "PyramidLevels", 1, "Verbose", False, "RandomState", 0)
    np.testing.assert_array_equal(deepDreamImage(network, "2", 1, *matlab), deepDreamImage(network, 4, 1, *matlab))
    with pytest.raises(DeepDreamError, match="no layer named '5'"):
        deep_dream_image(network, "5", [0], **QUICK)


def test_render_objective_layers(numbered, tmp_path, capsys, labels):
    out = ["--out", tmp_path / "r.png"]
    code, _, err = run(capsys, "render", numbered, "--objective", "2:1", *QUICK_RENDER, *out)
    assert_refused(code, err, "render", f"--objective: {AMBIGUOUS}")
    code, _, err = run(
        capsys, "render", numbered, "--objective", "#4:1,265:2", *QUICK_RENDER, *out, "--npy", tmp_path / "a.npy"
    )
    assert code == 0, err
    code, _, err = run(capsys, "render", numbered, "--objective", "2:1,5:2", *QUICK_RENDER, *out)
    assert_refused(code, err, "render", "ambiguous")
    code, _, err = run(
        capsys, "render", numbered, "--objective", "#4:1,#5:2", *QUICK_RENDER, *out, "--npy", tmp_path / "b.npy"
    )
    assert code == 0, err
    assert labels == [["2 ch 1", "265 ch 2"], ["2 ch 1", "265 ch 2"]]
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_atlas_layers(numbered, tmp_path, capsys):
    with pytest.raises(AtlasInputError, match="^layers: '2' is ambiguous"):
        plan_atlas(numbered, tmp_path / "atlas", layers="2")
    plan = plan_atlas(numbered, tmp_path / "atlas", layers="#4,265", channels="1")
    assert [(unit.layer, unit.layer_index) for unit in plan.units] == [("2", 4), ("265", 5)]
    code, _, err = run(capsys, "atlas", numbered, "--out", tmp_path / "atlas", "--layers", "11,2")
    assert_refused(code, err, "atlas", "--layers: '2' is ambiguous")
    assert not (tmp_path / "atlas").exists()


def test_parity_record_stores_the_name(numbered, tmp_path, capsys):
    record = ["parity", "record", numbered, "--channels", "1", "--iterations", "1", "--levels", "1", "--out", tmp_path]
    code, _, err = run(capsys, *record, "--layer", "2")
    assert_refused(code, err, "parity", f"--layer: {AMBIGUOUS}")
    code, _, err = run(capsys, *record, "--layer", "5")
    assert code == 0, err
    (case,) = tmp_path.glob("*.mat")
    assert case.name == "numbered_265_double.mat" and load_case(case).layer == "265"

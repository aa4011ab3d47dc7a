"""MATLAB v7.3 (HDF5) case files read as scipy reads the same data saved as v7.

The v7.3 files are written by hdf5storage (an independent implementation of MATLAB's
v7.3 format, MATLAB-compatible options) or built by hand with h5py in MATLAB's own
layout; what they must read as is what ``scipy.io.loadmat`` gives for the v7 originals
(or for the same data saved by ``scipy.io.savemat``).
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from pathlib import Path

import h5py
import hdf5storage
import numpy as np
import pytest
import scipy.io

from deepdreamport.errors import DeepDreamError
from deepdreamport.parity import find_cases, load_case, load_struct_array
from deepdreamport.parity.cases import is_case_file, read_mat

from ..conftest import REFERENCE
from .conftest import run_parity

CASE_FILES = sorted((REFERENCE / "cases").glob("*.mat"))
MATLAB_HEADER = (
    b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Tue Nov 24 10:00:00 2026 HDF5 schema 1.00 .".ljust(116)
    + bytes(8)
    + b"\x00\x02IM"
)


def variables(data: dict) -> dict:
    return {name: value for name, value in data.items() if not name.startswith("__")}


def for_hdf5storage(value):
    """A value as scipy read it from v7 → what hdf5storage writes as the same MATLAB variable."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        assert value.shape in {(1,), (0,)}, "only char row vectors are converted"
        return str(value[0]) if value.size else ""
    if isinstance(value, np.ndarray) and value.dtype.names is not None:
        if value.shape == (1, 1):  # a scalar struct: MATLAB writes it as a group of its fields
            return {field: for_hdf5storage(value[field][0, 0]) for field in value.dtype.names}
        converted = np.empty(value.shape, dtype=value.dtype)
        for field in value.dtype.names:
            for index, item in np.ndenumerate(value[field]):
                converted[field][index] = for_hdf5storage(item)
        return converted
    if isinstance(value, np.ndarray) and value.dtype == object:
        converted = np.empty(value.shape, dtype=object)
        for index, item in np.ndenumerate(value):
            converted[index] = for_hdf5storage(item)
        return converted
    return value


def save_v73_copy(source: Path, target: Path) -> Path:
    data = {name: for_hdf5storage(value) for name, value in variables(scipy.io.loadmat(str(source))).items()}
    hdf5storage.savemat(str(target), data, format="7.3", oned_as="row", store_python_metadata=False)
    return target


def assert_identical(actual, expected, where="value"):
    """Same type, dtype, shape and bits, recursively through cells and structs."""
    assert type(actual) is type(expected), where
    if not isinstance(expected, np.ndarray):
        assert actual == expected, where
        return
    assert (actual.dtype, actual.shape) == (expected.dtype, expected.shape), where
    if expected.dtype.names is not None:
        for field in expected.dtype.names:
            for index in np.ndindex(expected.shape):
                assert_identical(actual[field][index], expected[field][index], f"{where}.{field}{index}")
    elif expected.dtype == object:
        for index in np.ndindex(expected.shape):
            assert_identical(actual[index], expected[index], f"{where}{index}")
    else:
        assert actual.tobytes() == expected.tobytes(), where


def test_the_layout_hdf5storage_writes_is_matlabs(tmp_path):
    source = REFERENCE / "cases" / "tinynet_conv2_tiled.mat"
    path = save_v73_copy(source, tmp_path / "case.mat")
    height, width, channels = scipy.io.loadmat(str(source))["InitialImage"].shape
    assert height != width
    header = path.read_bytes()[:128]
    assert header.startswith(b"MATLAB 7.3 MAT-file") and header[124:] == b"\x00\x02IM"
    with h5py.File(path, "r") as file:
        assert file.userblock_size == 512
        image, layer = file["InitialImage"], file["layer"]
        assert image.attrs["MATLAB_class"] == b"double" and image.shape == (channels, width, height)  # reversed
        assert (
            layer.attrs["MATLAB_class"] == b"char"
            and layer.dtype == np.uint16
            and layer.attrs["MATLAB_int_decode"] == 2
        )


@pytest.mark.parametrize(
    "source",
    CASE_FILES + [REFERENCE / "components.mat"],
    ids=lambda p: p.stem,
)
def test_a_v73_copy_reads_bit_for_bit_as_the_v7_file(tmp_path, source):
    copy = save_v73_copy(source, tmp_path / source.name)
    expected = variables(scipy.io.loadmat(str(source), squeeze_me=False))
    actual = read_mat(copy)
    assert actual["__header__"].startswith(b"MATLAB 7.3 MAT-file")
    assert sorted(variables(actual)) == sorted(expected)  # HDF5 lists names sorted, not in saving order
    for name, value in expected.items():
        assert_identical(actual[name], value, name)


def test_struct_arrays_of_components_read_as_from_v7(tmp_path):
    copy = save_v73_copy(REFERENCE / "components.mat", tmp_path / "components.mat")
    for name in ("resize", "pad", "lap"):
        expected, actual = load_struct_array(REFERENCE / "components.mat", name), load_struct_array(copy, name)
        assert len(actual) == len(expected)
        for got, want in zip(actual, expected):
            assert list(got) == list(want)
            for field in want:
                assert_identical(got[field], want[field], f"{name}.{field}")


def test_parity_on_v73_copies_gives_the_same_json_as_on_the_v7_originals(tmp_path):
    v7, v73 = tmp_path / "v7", tmp_path / "v73"
    v7.mkdir(), v73.mkdir()
    for source in (REFERENCE / "cases").glob("*.mat"):
        shutil.copy(source, v7 / source.name)
        save_v73_copy(source, v73 / source.name)
    save_v73_copy(REFERENCE / "components.mat", v73 / "components.mat")  # not a case: skipped by its names
    assert [p.name for p in find_cases([v73])] == [p.name for p in find_cases([v7])]
    completed = run_parity(v7, v73, "--models", REFERENCE / "models", "--json")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    half = len(lines) // 2
    assert half == 6 and lines[:half] == lines[half:]
    assert all(json.loads(line)["passed"] for line in lines)


def _matlab_file(path: Path) -> h5py.File:
    """An HDF5 file behind MATLAB's 512-byte user block and header."""
    file = h5py.File(path, "w", userblock_size=512)
    file.close()
    with open(path, "r+b") as handle:
        handle.write(MATLAB_HEADER)
    return h5py.File(path, "r+")


def _put(group, name: str, data, matlab_class: str, **attrs) -> h5py.Dataset:
    """A variable as MATLAB writes it: dimensions reversed, the class as a fixed-length string."""
    data = np.asarray(data)
    dataset = group.create_dataset(name, data=data.T if data.ndim > 1 else data)
    dataset.attrs["MATLAB_class"] = np.bytes_(matlab_class)
    for key, value in attrs.items():
        dataset.attrs[key] = value
    return dataset


def _empty(group, name: str, dims, matlab_class: str, **attrs) -> h5py.Dataset:
    return _put(group, name, np.asarray(dims, dtype=np.uint64), matlab_class, MATLAB_empty=np.uint8(1), **attrs)


def _chars(text: str) -> np.ndarray:
    return np.array([[ord(c) for c in text]], dtype=np.uint16)


def _fields(node, names) -> None:
    node.attrs.create(
        "MATLAB_fields",
        np.array([np.frombuffer(n.encode(), dtype="S1") for n in names] + [None], dtype=object)[:-1],
        dtype=h5py.vlen_dtype(np.dtype("S1")),
    )


def _cell(file, group, name: str, items, matlab_class="cell") -> h5py.Dataset:
    """A 1×n cell (or, without a class, a struct array's field) of references to ``#refs#`` members."""
    refs = file.require_group("#refs#")
    references = []
    for item in items:
        member = f"{name}_{len(refs)}"
        if isinstance(item, str) and item == "canonical empty":
            member = "a"
            if member not in refs:
                _empty(refs, member, [0, 0], "canonical empty")
        elif isinstance(item, str):
            _put(refs, member, _chars(item), "char", MATLAB_int_decode=np.int32(2))
        else:
            _put(refs, member, item, item.dtype.name.replace("float64", "double").replace("float32", "single"))
        references.append(refs[member].ref)
    dataset = group.create_dataset(name, data=np.array(references, dtype=h5py.ref_dtype).reshape(-1, 1))
    if matlab_class:
        dataset.attrs["MATLAB_class"] = np.bytes_(matlab_class)
    return dataset


def test_a_file_in_matlabs_own_layout_reads_as_scipy_reads_its_v7_twin(tmp_path):
    path = tmp_path / "matlab.mat"
    image = np.arange(24, dtype=np.float32).reshape(2, 3, 4, order="F")
    with _matlab_file(path) as file:
        _put(file, "network", _chars("tinynet.onnx"), "char", MATLAB_int_decode=np.int32(2))
        _put(file, "rows", np.vstack([_chars("relu1"), _chars("conv2")]), "char", MATLAB_int_decode=np.int32(2))
        _put(file, "flags", np.array([[1, 0, 1]], dtype=np.uint8), "logical", MATLAB_int_decode=np.int32(1))
        _empty(file, "nothing", [0, 0], "char", MATLAB_int_decode=np.int32(2))
        _empty(file, "noRows", [0, 3], "double")
        _empty(file, "noCells", [0, 0], "cell")
        _fields(_empty(file, "noStruct", [0, 0], "struct"), ["a", "b"])
        _put(file, "image", image, "single")
        _put(file, "counts", np.array([[1, -2], [3, 4]], dtype=np.int32), "int32")
        z = np.array([[1 + 2j, -3.5j]], dtype=np.complex64)
        compound = np.empty(z.shape, dtype=[("real", "<f4"), ("imag", "<f4")])
        compound["real"], compound["imag"] = z.real, z.imag
        _put(file, "z", compound, "single")
        _cell(file, file, "mixed", ["canonical empty", "ab", np.array([[7.0]])])
        levels = file.create_group("levels")  # a 1×2 struct array: fields are reference arrays without a class
        levels.attrs["MATLAB_class"] = np.bytes_("struct")
        _fields(levels, ["A", "precision"])
        _cell(file, levels, "A", [np.array([[1.0, 2.0]]), np.array([[3.0]])], matlab_class=None)
        _cell(file, levels, "precision", ["double", "single"], matlab_class=None)
        options = file.create_group("options")  # a scalar struct: fields are variables
        options.attrs["MATLAB_class"] = np.bytes_("struct")
        _fields(options, ["scale", "names"])
        _put(options, "scale", np.array([[1.4]]), "double")
        _cell(file, options, "names", ["relu1", "relu2"])
        file.create_group("#subsystem#")

    levels = np.empty((1, 2), dtype=[("A", object), ("precision", object)])
    levels["A"][0, 0], levels["A"][0, 1] = np.array([[1.0, 2.0]]), np.array([[3.0]])
    levels["precision"][0, 0], levels["precision"][0, 1] = "double", "single"
    options = np.empty((1, 1), dtype=[("scale", object), ("names", object)])
    options["scale"][0, 0] = np.array([[1.4]])
    options["names"][0, 0] = np.array([["relu1", "relu2"]], dtype=object)
    twin = {
        "network": "tinynet.onnx",
        "rows": np.array(["relu1", "conv2"]),  # a 2×5 char array
        "flags": np.array([[True, False, True]]),
        "nothing": "",
        "noRows": np.zeros((0, 3)),
        "noCells": np.empty((0, 0), dtype=object),
        "noStruct": np.empty((0, 0), dtype=[("a", object), ("b", object)]),
        "image": image,
        "counts": np.array([[1, -2], [3, 4]], dtype=np.int32),
        "z": np.array([[1 + 2j, -3.5j]], dtype=np.complex64),
        "mixed": np.array([[np.zeros((0, 0)), "ab", np.array([[7.0]])]], dtype=object),
        "levels": levels,
        "options": options,
    }
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, twin)
    buffer.seek(0)
    expected = variables(scipy.io.loadmat(buffer))
    actual = read_mat(path)
    assert sorted(variables(actual)) == sorted(expected)
    for name, value in expected.items():
        assert_identical(actual[name], value, name)
    assert actual["image"].flags.f_contiguous  # MATLAB's layout, as scipy returns it


def test_is_case_file_answers_for_v73_files_from_their_names(tmp_path):
    case = save_v73_copy(REFERENCE / "cases" / "tinynet_fc_classes.mat", tmp_path / "case.mat")
    components = save_v73_copy(REFERENCE / "components.mat", tmp_path / "components.mat")
    assert is_case_file(case) and not is_case_file(components)
    assert find_cases([tmp_path]) == [case]


def test_without_h5py_a_v73_file_names_the_mat73_extra(tmp_path, monkeypatch):
    case = save_v73_copy(REFERENCE / "cases" / "tinynet_fc_classes.mat", tmp_path / "case.mat")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(DeepDreamError, match=r"case\.mat needs h5py: pip install 'deepdreamport\[mat73\]'$") as caught:
        load_case(case)
    assert "\n" not in str(caught.value)
    assert is_case_file(case)  # so that a folder's v7.3 cases are reported, not skipped


def test_a_v73_case_loads_like_its_v7_original(tmp_path):
    source = REFERENCE / "cases" / "dagnet_cat_relu_three_levels.mat"
    original, copy = load_case(source), load_case(save_v73_copy(source, tmp_path / source.name))
    for field in ("network", "layer", "channels", "num_iterations", "pyramid_scale", "precision", "provenance"):
        assert getattr(copy, field) == getattr(original, field)
    for field in ("initial_image", "iraw", "ilinear", "activation_log", "rolls"):
        assert_identical(getattr(copy, field), getattr(original, field), field)


def _write_refused(path: Path, kind: str) -> None:
    if kind == "bare HDF5":
        with h5py.File(path, "w") as file:
            file["Iraw"] = np.zeros((2, 2))
        return
    if kind == "truncated":
        path.write_bytes(MATLAB_HEADER.ljust(512, b"\x00") + b"\x89HDF\r\n\x1a\n" + bytes(100))
        return
    with _matlab_file(path) as file:
        if kind == "no MATLAB_class":
            file["Iraw"] = np.zeros((2, 2))
        elif kind == "function handle":
            _put(file, "Iraw", np.zeros((1, 1), dtype=np.uint32), "function_handle", MATLAB_object_decode=np.int32(2))
        elif kind == "table":
            _put(file, "Iraw", np.zeros((1, 6), dtype=np.uint32), "table", MATLAB_object_decode=np.int32(3))
        elif kind == "sparse":
            group = file.create_group("Iraw")
            group.attrs["MATLAB_class"], group.attrs["MATLAB_sparse"] = np.bytes_("double"), np.uint64(3)


@pytest.mark.parametrize(
    "kind, message",
    [
        ("bare HDF5", r"an HDF5 file without a MAT-file header, not a MATLAB v7\.3 MAT-file"),
        ("truncated", r"a MATLAB v7\.3 MAT-file header, but its HDF5 data cannot be read"),
        ("no MATLAB_class", r"variable 'Iraw': HDF5 object '/Iraw' has no MATLAB_class attribute"),
        ("function handle", r"variable 'Iraw': a MATLAB function_handle object, which this reader does not read"),
        ("table", r"variable 'Iraw': a MATLAB table object, which this reader does not read"),
        ("sparse", r"variable 'Iraw': a sparse double array, which this reader does not read"),
    ],
)
def test_bad_v73_input_is_refused_in_one_line_naming_file_and_variable(tmp_path, kind, message):
    path = tmp_path / "case.mat"
    _write_refused(path, kind)
    with pytest.raises(ValueError, match=message) as caught:
        load_case(path)
    assert str(caught.value).startswith(f"{path}: ") and "\n" not in str(caught.value)

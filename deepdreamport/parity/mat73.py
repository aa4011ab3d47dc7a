"""Read MATLAB v7.3 MAT-files (HDF5) into what ``scipy.io.loadmat`` gives for the same data saved as v7.

MATLAB's ``save -v7.3`` writes an HDF5 file behind a 512-byte user block whose first
116 bytes are the text header (``MATLAB 7.3 MAT-file, ...``) and whose bytes 124–127
are the version ``0x0200`` and the endian mark ``IM``. Each variable is a top-level
HDF5 object with a ``MATLAB_class`` attribute:

- numeric classes (``double``, ``single``, ``int8`` … ``uint64``): a dataset of that
  type whose HDF5 dimensions are MATLAB's reversed (MATLAB is column-major), so an
  ``H×W×C×K`` array is stored ``K×C×W×H``; complex values are a compound of
  ``real`` and ``imag``;
- ``char``: ``uint16`` UTF-16 code units (``MATLAB_int_decode`` 2);
- ``logical``: ``uint8`` (``MATLAB_int_decode`` 1);
- ``cell``: a dataset of object references into the ``#refs#`` group;
- ``struct``: a scalar struct is a group with one member per field (field order in
  the ``MATLAB_fields`` attribute); a struct array is a group whose fields are
  datasets of references (no ``MATLAB_class`` on them) shaped like the array;
- an empty array of any class carries ``MATLAB_empty`` = 1 and its dataset holds its
  MATLAB dimensions instead of data; ``#refs#`` may hold a ``canonical empty``
  (an empty ``double``).

:func:`read_mat73` returns the dictionary ``scipy.io.loadmat(path, squeeze_me=False)``
returns for the same variables in a v7 file (``struct_as_record=True``,
``chars_as_strings=True``, ``mat_dtype=False``): arrays of at least two dimensions in
MATLAB's shape (Fortran-ordered, as scipy's are), char arrays as ``<U`` arrays with the
last dimension folded into the strings (an empty char array is ``array([], '<U1')``),
logical as ``uint8``, cells as object arrays, structs as structured arrays of object
fields, plus ``__header__``, ``__version__`` and ``__globals__``.

Deviations: a v7 file may store a ``double`` array in a smaller integer type, which
``loadmat`` (``mat_dtype=False``) returns as that type; v7.3 always stores the class's
type, so this reader returns the class's type (what ``mat_dtype=True`` gives). Sparse
arrays, function handles and MATLAB objects (``string``, ``table``, classdef objects:
``MATLAB_object_decode``), which ``loadmat`` returns as opaque objects, are refused
naming the variable; case files hold none of them. Variables come in HDF5's order (sorted
names), not in the order they were saved. Everything is read eagerly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import _package

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAT73_VERSION = (b"\x00\x02IM", b"\x02\x00MI")  # bytes 124-127 of a v7.3 header: version 0x0200, endian mark
NUMERIC_CLASSES = {
    "double": np.float64,
    "single": np.float32,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "uint16": np.uint16,
    "int32": np.int32,
    "uint32": np.uint32,
    "int64": np.int64,
    "uint64": np.uint64,
    "logical": np.uint8,  # loadmat's mat_dtype=False answer for logical
    "canonical empty": np.float64,
}
REFERENCES = "#refs#"


class Mat73Error(ValueError):
    """A v7.3 file this reader cannot read; the message is one line naming the file (and variable)."""


def is_mat73(path: str | Path) -> bool:
    """Whether ``path`` opens with a MATLAB v7.3 MAT-file header (version 0x0200 in its user block)."""
    with open(path, "rb") as handle:
        header = handle.read(128)
    return len(header) == 128 and header[124:128] in MAT73_VERSION


def is_bare_hdf5(path: str | Path) -> bool:
    """Whether ``path`` is an HDF5 file with no MAT-file header (HDF5's signature at byte 0)."""
    with open(path, "rb") as handle:
        return handle.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE


def _h5py(path: str | Path):
    return _package.require("h5py", f"reading the MATLAB v7.3 MAT-file {path}", extra="mat73")


def _open(path: str | Path):
    h5py = _h5py(path)
    try:
        return h5py.File(str(path), "r")
    except OSError as exc:
        raise Mat73Error(f"{path}: a MATLAB v7.3 MAT-file header, but its HDF5 data cannot be read ({exc})") from None


def variable_names(path: str | Path) -> list[str]:
    """The variables of a v7.3 file (its top-level HDF5 names, without ``#refs#``/``#subsystem#``)."""
    with _open(path) as file:
        return [name for name in file.keys() if not name.startswith("#")]


def read_mat73(path: str | Path) -> dict[str, Any]:
    """All variables of the v7.3 MAT-file ``path``, as ``scipy.io.loadmat(path, squeeze_me=False)`` gives v7 ones."""
    with open(path, "rb") as handle:
        header = handle.read(128)
    endian = "<" if header[126:128] == b"IM" else ">"
    version = int.from_bytes(header[124:126], "little" if endian == "<" else "big")
    data: dict[str, Any] = {
        "__header__": header[:116].strip(b" \t\n\x00"),
        "__version__": f"{version >> 8}.{version & 0xFF}",
        "__globals__": [],
    }
    with _open(path) as file:
        for name in file.keys():
            if name.startswith("#"):
                continue
            node = file[name]
            data[name] = _Reader(file, path, name).read(node)
            if int(np.asarray(node.attrs.get("MATLAB_global", 0)).reshape(-1)[0]):
                data["__globals__"].append(name)
    return data


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray):  # a MATLAB_fields entry: an array of single characters
        return b"".join(bytes(c) for c in value.reshape(-1)).decode("ascii")
    return value.decode("ascii") if isinstance(value, bytes) else str(value)


def _matlab_dims(shape: tuple[int, ...]) -> tuple[int, ...]:
    dims = tuple(reversed(shape))
    return dims + (1,) * (2 - len(dims))


def _to_matlab(array: np.ndarray) -> np.ndarray:
    """An HDF5 array (reversed dimensions, C order) as MATLAB's shape in Fortran order (scipy's layout)."""
    return array.T.reshape(_matlab_dims(array.shape), order="F")


def chars_to_strings(codes: np.ndarray) -> np.ndarray:
    """MATLAB char codes in MATLAB's shape → scipy's strings: the last dimension folded into ``<U`` items."""
    chars = np.ascontiguousarray(codes.astype(np.uint32)).view("<U1")
    if chars.shape[-1] == 0:
        return np.empty(chars.shape[:-2] + (0,), dtype="<U1")
    return np.asfortranarray(chars.view(f"<U{chars.shape[-1]}").reshape(chars.shape[:-1]))


class _Reader:
    """Reads one variable of an open file (``name`` is the variable, for the error messages)."""

    def __init__(self, file: Any, path: str | Path, name: str):
        self.file, self.path, self.name = file, path, name

    def refuse(self, what: str) -> Mat73Error:
        return Mat73Error(f"{self.path}: variable {self.name!r}: {what}")

    def read(self, node: Any) -> Any:
        attrs = node.attrs
        if "MATLAB_class" not in attrs:
            raise self.refuse(
                f"HDF5 object {node.name!r} has no MATLAB_class attribute: not a MAT-file variable written by MATLAB"
            )
        matlab_class = _text(attrs["MATLAB_class"])
        if "MATLAB_object_decode" in attrs or matlab_class == "function_handle":
            raise self.refuse(f"a MATLAB {matlab_class} object, which this reader does not read")
        if "MATLAB_sparse" in attrs:
            raise self.refuse(f"a sparse {matlab_class} array, which this reader does not read")
        if matlab_class == "struct":
            return self.struct(node)
        if not hasattr(node, "dtype"):
            raise self.refuse(f"HDF5 group {node.name!r} of MATLAB class {matlab_class!r}, expected a struct")
        if int(np.asarray(attrs.get("MATLAB_empty", 0)).reshape(-1)[0]):
            return self.empty(node, matlab_class)
        if matlab_class == "cell":
            return self.cell(node)
        if matlab_class == "char":
            return chars_to_strings(_to_matlab(node[()]))
        if matlab_class not in NUMERIC_CLASSES:
            raise self.refuse(f"MATLAB class {matlab_class!r}, which this reader does not read")
        return self.numeric(node, matlab_class)

    def numeric(self, node: Any, matlab_class: str) -> np.ndarray:
        array = node[()]
        if array.dtype.names is not None:  # complex: a compound of real and imag
            if set(array.dtype.names) != {"real", "imag"}:
                raise self.refuse(f"a {matlab_class} compound with fields {array.dtype.names}, expected real and imag")
            complex_type = np.result_type(array.dtype["real"], np.complex64)
            values = np.empty(array.shape, dtype=complex_type)
            values.real, values.imag = array["real"], array["imag"]
            return _to_matlab(values)
        return _to_matlab(array.astype(NUMERIC_CLASSES[matlab_class], copy=False))

    def empty(self, node: Any, matlab_class: str) -> np.ndarray:
        dims = tuple(int(d) for d in np.asarray(node[()]).reshape(-1))
        if matlab_class == "char":
            return chars_to_strings(np.zeros(dims, dtype=np.uint16))
        if matlab_class == "cell":
            return np.empty(dims, dtype=object, order="F")
        if matlab_class == "struct":
            return np.empty(dims, dtype=self.struct_type(node), order="F")
        if matlab_class not in NUMERIC_CLASSES:
            raise self.refuse(f"an empty array of MATLAB class {matlab_class!r}, which this reader does not read")
        return np.empty(dims, dtype=NUMERIC_CLASSES[matlab_class], order="F")

    def dereference(self, references: np.ndarray) -> np.ndarray:
        """A dataset of references (HDF5 order) → an object array in MATLAB's shape of what they point to."""
        values = np.empty(references.shape, dtype=object)
        for index, reference in np.ndenumerate(references):
            if not reference:
                raise self.refuse("a null object reference in a cell or struct array")
            values[index] = self.read(self.file[reference])
        return _to_matlab(values)

    def cell(self, node: Any) -> np.ndarray:
        if node.dtype.kind != "O":
            raise self.refuse(f"a cell array stored as {node.dtype}, expected object references")
        return self.dereference(node[()])

    def field_names(self, node: Any) -> list[str]:
        if "MATLAB_fields" in node.attrs:
            return [_text(field) for field in node.attrs["MATLAB_fields"]]
        return [name for name in node.keys() if not name.startswith("#")] if hasattr(node, "keys") else []

    def struct_type(self, node: Any) -> np.dtype:
        return np.dtype([(field, object) for field in self.field_names(node)])

    def struct(self, node: Any) -> np.ndarray:
        if hasattr(node, "dtype"):  # only an empty struct array is a dataset
            if int(np.asarray(node.attrs.get("MATLAB_empty", 0)).reshape(-1)[0]):
                return self.empty(node, "struct")
            raise self.refuse("a struct stored as a dataset without MATLAB_empty")
        fields = self.field_names(node)
        missing = [field for field in fields if field not in node]
        if missing:
            raise self.refuse(f"struct fields {missing} named in MATLAB_fields are missing")
        record_type = self.struct_type(node)
        first = node[fields[0]] if fields else None
        is_array = first is not None and hasattr(first, "dtype") and "MATLAB_class" not in first.attrs
        if not is_array:  # a scalar struct: each field is a variable
            record = np.empty((1, 1), dtype=record_type, order="F")
            for field in fields:
                record[field][0, 0] = self.read(node[field])
            return record
        columns = {}
        for field in fields:
            member = node[field]
            if not hasattr(member, "dtype") or member.dtype.kind != "O" or member.shape != first.shape:
                raise self.refuse(f"struct array field {field!r} is not a reference array shaped like the others")
            columns[field] = self.dereference(member[()])
        records = np.empty(_matlab_dims(first.shape), dtype=record_type, order="F")
        for field, values in columns.items():
            for index, value in np.ndenumerate(values):
                records[field][index] = value
        return records

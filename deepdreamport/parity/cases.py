"""Parity case files (schema v1): find, read and write them.

A *case* file holds one end-to-end ``deepDreamImage`` run; ``components.mat``
holds function-level references. The schema is documented in
``parity/reference/README.md``. Cases recorded by the port itself
(:mod:`deepdreamport.parity.record`) carry the same fields plus provenance
fields that schema-v1 readers ignore:

``recordedBy`` (``'deepdreamport'``), ``packageVersion``, ``torchVersion``,
``onnx2torchVersion``, ``device``, ``modelSha256`` (of the ONNX file named by
``network``) and a human-readable ``source`` line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
from pathlib import Path
from typing import Any, Callable

import numpy as np
import scipy.io

from ..input_files import path_problem, shown, user_path
from . import mat73
from ._package import write_atomic

PORT_RECORDER = "deepdreamport"


def _unwrap(value: Any) -> Any:
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.flat[0]
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return str(value.flat[0]) if value.size else ""
    return value


def _scalar(value: Any) -> float:
    return float(np.asarray(_unwrap(value)).reshape(-1)[0])


def read_mat(path: str | Path) -> dict[str, Any]:
    """The variables of a MATLAB ``.mat`` file as ``scipy.io.loadmat(path, squeeze_me=False)`` gives them.

    v4-v7 files are scipy's; v7.3 (HDF5) files are read by :mod:`.mat73` into the same
    arrays (it needs h5py, the ``mat73`` extra). An HDF5 file without a MAT-file header is refused.
    """
    if Path(path).is_dir():
        raise ValueError(f"{path}: is a folder, not a MAT-file")
    if Path(path).stat().st_size == 0:
        raise ValueError(f"{path}: is empty (0 bytes), not a MAT-file")
    if mat73.is_bare_hdf5(path):
        raise ValueError(
            f"{path}: an HDF5 file without a MAT-file header, not a MATLAB v7.3 MAT-file "
            "(MATLAB's save -v7.3 writes a 512-byte header before the HDF5 data)"
        )
    try:
        return scipy.io.loadmat(str(path), squeeze_me=False)
    except NotImplementedError:  # scipy's answer to v7.3, which is HDF5
        return mat73.read_mat73(path)
    except (OSError, ValueError, TypeError, EOFError) as exc:  # scipy's MatReadError is a ValueError
        raise ValueError(f"{path}: not a readable MAT-file, truncated or damaged ({exc})") from None


def load_struct_array(path: str | Path, name: str) -> list[dict[str, Any]]:
    """Entries of a 1×n MATLAB struct (or cell of structs) as dicts of arrays."""
    data = read_mat(path)
    entries = []
    for item in data[name].reshape(-1):
        item = _unwrap(item)
        entries.append({field: _unwrap(item[field]) for field in item.dtype.names})
    return entries


@dataclasses.dataclass(frozen=True)
class Provenance:
    """Who made a case: MATLAB (empty ``recorded_by``) or the port, with what."""

    source: str = ""
    recorded_by: str = ""
    package_version: str = ""
    torch_version: str = ""
    onnx2torch_version: str = ""
    device: str = ""
    model_sha256: str = ""

    @property
    def by_port(self) -> bool:
        return self.recorded_by == PORT_RECORDER


PROVENANCE_FIELDS = {
    "source": "source",
    "recorded_by": "recordedBy",
    "package_version": "packageVersion",
    "torch_version": "torchVersion",
    "onnx2torch_version": "onnx2torchVersion",
    "device": "device",
    "model_sha256": "modelSha256",
}


@dataclasses.dataclass(frozen=True)
class ParityCase:
    """One end-to-end reference run (fields as in the schema)."""

    path: Path
    network: str
    layer: str
    channels: tuple[int, ...]
    initial_image: np.ndarray
    num_iterations: int
    pyramid_levels: int
    pyramid_scale: float
    tile_size: int
    rng_seed: int
    precision: str
    iraw: np.ndarray
    ilinear: np.ndarray
    activation_log: np.ndarray
    rolls: np.ndarray
    strength_resolution: float = 0.0  # 0.01 when activationLog was parsed from the printed table
    provenance: Provenance = Provenance()

    @property
    def name(self) -> str:
        return self.path.stem


def load_case(path: str | Path) -> ParityCase:
    """Read a schema-v1 case ``.mat`` file."""
    path = Path(path)
    data = read_mat(path)
    missing = [f for f in REQUIRED_FIELDS if f not in data]
    if missing:
        raise ValueError(f"{path}: not a schema-v1 parity case (missing fields {missing})")
    check_case_arrays(path, data)
    get = lambda key: _unwrap(data[key])  # noqa: E731
    precision = get("precision") or ("double" if data["InitialImage"].dtype == np.float64 else "single")
    rolls = np.asarray(data["rolls"], dtype=np.float64) if "rolls" in data else np.zeros((0, 2))
    provenance = Provenance(**{attr: str(get(key)) for attr, key in PROVENANCE_FIELDS.items() if key in data})
    return ParityCase(
        path=path,
        network=str(get("network")),
        layer=str(get("layer")),
        channels=tuple(int(c) for c in np.asarray(data["channels"]).reshape(-1)),
        initial_image=np.asarray(data["InitialImage"]),
        num_iterations=int(_scalar(data["NumIterations"])),
        pyramid_levels=int(_scalar(data["PyramidLevels"])),
        pyramid_scale=_scalar(data["PyramidScale"]),
        tile_size=int(_scalar(data["TileSize"])),
        rng_seed=int(_scalar(data["rngSeed"])),
        precision=str(precision),
        iraw=np.asarray(data["Iraw"]),
        ilinear=np.asarray(data["Ilinear"]),
        activation_log=np.asarray(data["activationLog"], dtype=np.float64).reshape(-1, 3),
        rolls=rolls.reshape(-1, 2),
        strength_resolution=_scalar(data["strengthResolution"]) if "strengthResolution" in data else 0.0,
        provenance=provenance,
    )


def case_fields(case: ParityCase) -> dict[str, Any]:
    """The ``.mat`` variables of ``case``, as MATLAB's ``make_reference.m`` writes them."""
    array_type = np.float64 if case.precision == "double" else np.float32
    fields: dict[str, Any] = {
        "network": case.network,
        "layer": case.layer,
        "channels": np.asarray(case.channels, dtype=np.float64).reshape(1, -1),
        "InitialImage": np.asarray(case.initial_image, dtype=array_type),
        "NumIterations": float(case.num_iterations),
        "PyramidLevels": float(case.pyramid_levels),
        "PyramidScale": float(case.pyramid_scale),
        "TileSize": float(case.tile_size),
        "rngSeed": float(case.rng_seed),
        "precision": case.precision,
        "Iraw": np.asarray(case.iraw, dtype=array_type),
        "Ilinear": np.asarray(case.ilinear, dtype=array_type),
        "activationLog": np.asarray(case.activation_log, dtype=np.float64).reshape(-1, 3),
        "strengthResolution": float(case.strength_resolution),
        "rolls": np.asarray(case.rolls, dtype=np.float64).reshape(-1, 2),
    }
    for attr, key in PROVENANCE_FIELDS.items():
        value = getattr(case.provenance, attr)
        if value:
            fields[key] = value
    return fields


def case_writer(case: ParityCase):
    """``write(file)``: the case as a MATLAB v5 ``.mat`` (for an atomic writer)."""
    fields = case_fields(case)
    return lambda handle: scipy.io.savemat(handle, fields, do_compression=True)


def save_case(case: ParityCase) -> Path:
    """Write ``case`` to ``case.path`` (MATLAB v5 ``.mat``, atomically)."""
    return write_atomic(case.path, case_writer(case))


CASE_FIELDS = ("network", "layer", "channels", "InitialImage", "Iraw")
"""The variables that make a ``.mat`` a case (a folder's other ``.mat`` files are skipped)."""
REQUIRED_FIELDS = CASE_FIELDS + (
    "Ilinear",
    "NumIterations",
    "PyramidLevels",
    "PyramidScale",
    "TileSize",
    "rngSeed",
    "activationLog",
)
"""Every variable :func:`load_case` reads; ``precision``, ``rolls``, ``strengthResolution`` and provenance are optional."""
SCALAR_FIELDS = ("NumIterations", "PyramidLevels", "PyramidScale", "TileSize", "rngSeed")
ARRAY_TYPES = {"double": np.float64, "single": np.float32}


def _numeric(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind in "fiu"


def check_case_arrays(path: str | Path, data: dict[str, Any]) -> None:
    """Refuse, in one line naming the file and variable, a case whose variables have the wrong class or shape.

    The schema (``parity/reference/README.md``): numeric scalars; ``channels`` whole numbers from 1;
    ``InitialImage`` H×W×C, ``Iraw`` and ``Ilinear`` H'×W'×C×K (K = the channels; K = 1 may be dropped), all
    three of the run's ``precision`` (double or single); ``activationLog`` rows of 3, ``rolls`` rows of 2.
    """

    def refuse(field: str, expected: str, value: Any) -> ValueError:
        got = f"{value.dtype} of shape {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
        return ValueError(f"{path}: {field}: expected {expected}; got {got}")

    for field in SCALAR_FIELDS:
        value = data[field]
        if not _numeric(value) or value.size != 1 or not np.isfinite(value).all():
            raise refuse(field, "one finite number", value)
    channels = data["channels"]
    if not _numeric(channels) or not channels.size or (channels < 1).any() or (channels % 1).any():
        raise refuse("channels", "whole numbers from 1", channels)
    precision = _unwrap(data["precision"]) if "precision" in data else ""
    if precision not in ("", *ARRAY_TYPES):
        raise ValueError(f"{path}: precision: expected 'double' or 'single'; got {precision!r}")
    image = data["InitialImage"]
    if not _numeric(image) or image.ndim != 3:
        raise refuse("InitialImage", "an H×W×C image", image)
    array_type = np.dtype(ARRAY_TYPES[precision or ("double" if image.dtype == np.float64 else "single")])
    count = channels.size
    expected_shape = f"H×W×{image.shape[2]}×{count} (C of InitialImage, one image per channel)"
    for field in ("InitialImage", "Iraw", "Ilinear"):
        value = data[field]
        if not _numeric(value) or value.dtype != array_type:
            raise refuse(
                field,
                f"{array_type.name} (MATLAB {_matlab_class(array_type)}), the class of the run's precision",
                value,
            )
        if field != "InitialImage" and (
            value.ndim not in (3, 4) or value.shape[2] != image.shape[2] or (value.shape + (1,))[3] != count
        ):
            raise refuse(field, expected_shape, value)
    if data["Ilinear"].shape != data["Iraw"].shape:
        raise refuse("Ilinear", f"Iraw's shape {data['Iraw'].shape}", data["Ilinear"])
    for field, columns in (("activationLog", 3), ("rolls", 2)):
        value = data.get(field, np.zeros((0, columns)))
        if not _numeric(value) or value.size % columns:
            raise refuse(field, f"rows of {columns} numbers", value)


def _matlab_class(array_type: np.dtype) -> str:
    return "double" if array_type == np.float64 else "single"


def is_case_file(path: str | Path) -> bool:
    """Whether ``path`` holds a schema-v1 case's variables (read from its header, not its data).

    A v7.3 (HDF5) file answers from its top-level HDF5 names; without h5py it answers True,
    so that reading it says what to install.
    """
    try:
        names = {name for name, _, _ in scipy.io.whosmat(str(path))}
    except NotImplementedError:  # v7.3
        try:
            names = set(mat73.variable_names(path))
        except ValueError:  # h5py missing, or a v7.3 header over unreadable HDF5 data: reading says which
            return True
    except Exception:  # not a MAT-file at all
        return False
    return all(field in names for field in CASE_FIELDS)


def find_cases(paths: list[str | Path], on_skipped: Callable[[Path], None] | None = None) -> list[Path]:
    """Expand files and folders into a sorted list of case files.

    A folder is searched with its sub-folders (:func:`case_folder_files`: symbolic links to
    folders are followed, each folder searched once), and a ``.mat`` there that is not a case
    (MATLAB's ``components.mat`` beside the cases, a workspace) is skipped and passed to
    ``on_skipped``; a file named itself is always a case, so that reading it says what is wrong
    with it. A leading ``~`` is the home folder; a path that is not there raises ``FileNotFoundError``.
    """
    found: list[Path] = []
    for given in paths:
        text = user_path(given)
        status, problem = path_problem(text)
        if problem:
            raise FileNotFoundError(problem)
        if status is None:
            raise FileNotFoundError(f"parity case path {shown(text)} does not exist")
        entry = Path(text)
        if stat.S_ISDIR(status.st_mode):
            for candidate in case_folder_files(entry):
                if is_case_file(candidate):
                    found.append(candidate)
                elif on_skipped is not None:
                    on_skipped(candidate)
        else:
            found.append(entry)
    return found


def case_folder_files(folder: Path) -> list[Path]:
    """Every ``*.mat`` under ``folder``, sorted; symbolic links to folders are followed, with a loop guard.

    A cases folder assembled from links (``cases/matlab -> /shared/parity/matlab``) is searched
    as a user expects, where ``Path.rglob`` (before Python 3.13) would skip the linked folders.
    Each real folder (device and inode) is searched once, by the first path that reaches it in
    sorted order, and a link to a folder holding ``folder`` is not followed, so a link back up the
    tree (``sub/up -> ..``, ``self -> .``, ``up -> ../..``) or two links to one folder neither loop,
    nor search outside, nor list a case twice. A folder that cannot be read is passed over.
    """
    seen: set[tuple[int, int]] = set()
    above: set[tuple[int, int]] = set()  # the folders holding ``folder``: a link to one leads back in (a loop)
    for ancestor in Path(os.path.realpath(folder)).parents:
        try:
            status = os.stat(ancestor)
        except OSError:
            continue
        above.add((status.st_dev, status.st_ino))
    found: list[Path] = []
    for current, sub_folders, files in os.walk(folder, followlinks=True):
        sub_folders.sort()
        try:
            status = os.stat(current)
        except OSError:
            sub_folders.clear()
            continue
        key = (status.st_dev, status.st_ino)
        if key in seen or key in above:
            sub_folders.clear()
            continue
        seen.add(key)
        found.extend(Path(current) / name for name in files if name.endswith(".mat"))
    return sorted(found)


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()

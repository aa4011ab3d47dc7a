"""Reading MATLAB parity references (schema v1) and judging the port against them.

A *case* file holds one end-to-end ``deepDreamImage`` run; ``components.mat``
holds function-level references. The schema is documented in
``parity/reference/README.md``. This module knows nothing about particular
cases: it reads whatever case files it is given and runs the port on each.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import torch

from .core.loop import DreamSettings, scale_linear
from .doors.run import run_deep_dream
from .matlab.layout import matlab_squeeze, to_hwck
from .matlab.rng import twister
from .nets.load import load_network

TOLERANCE = {"double": 1e-10, "single": 1e-5}
STRENGTH_TOLERANCE = 1e-4


def _unwrap(value: Any) -> Any:
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.flat[0]
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return str(value.flat[0]) if value.size else ""
    return value


def _scalar(value: Any) -> float:
    return float(np.asarray(_unwrap(value)).reshape(-1)[0])


def load_struct_array(path: str | Path, name: str) -> list[dict[str, Any]]:
    """Entries of a 1×n MATLAB struct (or cell of structs) as dicts of arrays."""
    data = scipy.io.loadmat(str(path), squeeze_me=False)
    entries = []
    for item in data[name].reshape(-1):
        item = _unwrap(item)
        entries.append({field: _unwrap(item[field]) for field in item.dtype.names})
    return entries


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

    @property
    def name(self) -> str:
        return self.path.stem


def load_case(path: str | Path) -> ParityCase:
    """Read a schema-v1 case ``.mat`` file."""
    path = Path(path)
    data = scipy.io.loadmat(str(path), squeeze_me=False)
    missing = [f for f in ("network", "layer", "channels", "InitialImage", "Iraw") if f not in data]
    if missing:
        raise ValueError(f"{path}: not a schema-v1 parity case (missing fields {missing})")
    get = lambda key: _unwrap(data[key])  # noqa: E731
    precision = get("precision") or ("double" if data["InitialImage"].dtype == np.float64 else "single")
    rolls = np.asarray(data["rolls"], dtype=np.float64) if "rolls" in data else np.zeros((0, 2))
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
    )


def find_cases(paths: list[str | Path]) -> list[Path]:
    """Expand files and folders into a sorted list of case files."""
    found: list[Path] = []
    for entry in paths:
        entry = Path(entry)
        if entry.is_dir():
            found.extend(sorted(entry.glob("*.mat")))
        elif entry.is_file():
            found.append(entry)
        else:
            raise FileNotFoundError(f"parity case path {str(entry)!r} does not exist")
    return found


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual - expected| / max |expected| (inf if the shapes differ)."""
    actual = matlab_squeeze(np.asarray(actual, dtype=np.float64))
    expected = matlab_squeeze(np.asarray(expected, dtype=np.float64))
    if actual.shape != expected.shape:
        return math.inf
    scale = np.max(np.abs(expected)) if expected.size else 0.0
    error = np.max(np.abs(actual - expected)) if expected.size else 0.0
    if not np.isfinite(error):
        return math.inf
    return float(error / scale) if scale > 0 else float(error)


@dataclasses.dataclass(frozen=True)
class CaseResult:
    """How the port did on one case."""

    case: str
    precision: str
    iraw_relative_error: float
    ilinear_relative_error: float
    strength_abs_error: float
    rolls_match: bool
    tolerance: float
    error: str = ""
    strength_tolerance: float = STRENGTH_TOLERANCE

    @property
    def passed(self) -> bool:
        return (
            not self.error
            and self.iraw_relative_error <= self.tolerance
            and self.ilinear_relative_error <= self.tolerance
            and self.strength_abs_error <= self.strength_tolerance
            and self.rolls_match
        )

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["passed"] = self.passed
        return data


def run_case(case: ParityCase, models_dir: str | Path, device: str = "cpu") -> CaseResult:
    """Run the port on ``case`` exactly as MATLAB was run and compare."""
    dtype = torch.float64 if case.precision == "double" else torch.float32
    tolerance = TOLERANCE.get(case.precision, TOLERANCE["single"])
    network = load_network(Path(models_dir) / case.network)

    result = run_deep_dream(
        network,
        case.layer,
        [c - 1 for c in case.channels],
        initial_image=case.initial_image,
        settings=DreamSettings(case.num_iterations, case.pyramid_levels, case.pyramid_scale),
        dtype=dtype,
        device=torch.device(device),
        stream=twister(case.rng_seed),
        tile_size=case.tile_size,
    )
    iraw = to_hwck(result.images)
    ilinear = to_hwck(scale_linear(result.images))
    log = result.activation_log
    expected_log = case.activation_log
    if log.shape == expected_log.shape and np.array_equal(log[:, :2], expected_log[:, :2]):
        strength_error = float(np.max(np.abs(log[:, 2] - expected_log[:, 2]))) if log.size else 0.0
    else:
        strength_error = math.inf
    rolls = np.asarray(result.rolls, dtype=np.float64).reshape(-1, 2)
    return CaseResult(
        case=case.name,
        precision=case.precision,
        iraw_relative_error=relative_error(iraw, case.iraw),
        ilinear_relative_error=relative_error(ilinear, case.ilinear),
        strength_abs_error=strength_error,
        rolls_match=bool(rolls.shape == case.rolls.shape and np.array_equal(rolls, case.rolls)),
        tolerance=tolerance,
        strength_tolerance=STRENGTH_TOLERANCE + case.strength_resolution / 2,
    )

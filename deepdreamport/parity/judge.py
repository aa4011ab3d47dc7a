"""Running the port on a parity case and judging it against the recorded numbers.

Tolerances (relative error = max |port - reference| / max |reference|):

* cases made by MATLAB: images 1e-10 (double) and 1e-5 (single); activation
  strengths 1e-4 absolute, widened by half the case's ``strengthResolution``;
* cases recorded by the port (:mod:`~deepdreamport.parity.record`): images and
  strengths 1e-10 relative for float64 on any machine, 1e-5 relative for
  float32. Float32 cases are meant for the machine and library stack that
  recorded them: elsewhere float32 rounding differences are amplified by the
  dream's iterations (see the README), so a float32 mismatch is reported with a
  diagnosis of whether it looks like that amplification;
* rolls exactly; a recorded ``modelSha256`` must match the model file.

A failing case is explained (:func:`diagnose`), most basic cause first: different
tile rolls (another random stream: nothing else can be compared), a changed model
file, an iteration log of another shape, an error localised in a few pixels, and
only then, for float32 cases, float32 amplification. That explanation is given
only when the failure has all three signs of rounding amplified by the iterations
(:func:`amplification_signs`): the first iteration's strengths agree to float32
rounding (onset), the strengths' difference grows over the later iterations
(growth), and the image error is spread over the image (spread).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from . import _package
from .cases import ParityCase, file_sha256

TOLERANCE = {"double": 1e-10, "single": 1e-5}
STRENGTH_TOLERANCE = 1e-4
RECORDED_TOLERANCE = {"double": 1e-10, "single": 1e-5}
# Relative difference of the first iteration's strength below which two float32
# runs compute the same network: that strength depends on the initial image and
# one forward pass only, before any iteration can amplify rounding.
FLOAT32_FIRST_STRENGTH_ROUNDING = 1e-5
STRENGTH_ROUNDING = 1e-7
"""Relative float32 rounding of a strength (a sum over the layer's output); the six MATLAB cases agree to 5e-7."""
GROWTH = 10
"""Growth: a later strength difference at least this many times the first one (and the rounding)."""
SPREAD_LEVEL = 0.1
"""A pixel takes part in the error when its error is at least this share of the largest error."""
SPREAD_MIN_SHARE = 0.01
SPREAD_MIN_PIXELS = 16
"""The error is spread when at least this share of the pixels, and this many, take part in it."""


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual - expected| / max |expected| (inf if the shapes differ)."""
    actual = _package.matlab_squeeze(np.asarray(actual, dtype=np.float64))
    expected = _package.matlab_squeeze(np.asarray(expected, dtype=np.float64))
    if actual.shape != expected.shape:
        return math.inf
    scale = np.max(np.abs(expected)) if expected.size else 0.0
    error = np.max(np.abs(actual - expected)) if expected.size else 0.0
    if not np.isfinite(error):
        return math.inf
    return float(error / scale) if scale > 0 else float(error)


def precision_tolerances(case: ParityCase) -> tuple[float, float]:
    """(image relative tolerance, strength absolute tolerance) for ``case``."""
    if case.provenance.by_port:
        tolerance = RECORDED_TOLERANCE.get(case.precision, RECORDED_TOLERANCE["single"])
        scale = float(np.max(np.abs(case.activation_log[:, 2]))) if case.activation_log.size else 0.0
        return tolerance, tolerance * max(scale, 1.0)
    return TOLERANCE.get(case.precision, TOLERANCE["single"]), STRENGTH_TOLERANCE + case.strength_resolution / 2


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
    recorded_by: str = "matlab"
    model_changed: bool = False
    recorded_sha256: str = ""
    current_sha256: str = ""
    iraw_max_abs_error: float = 0.0
    iraw_max_error_at: tuple[int, ...] = ()  # 1-based MATLAB index into Iraw
    strengths: tuple[tuple[float, float, float, float], ...] = ()  # (level, iteration, reference, port)
    diagnosis: str = ""
    iraw_error_pixels: int = 0  # pixels (positions of all K images) with an error >= SPREAD_LEVEL × the largest
    iraw_pixels: int = 0
    model_change_accepted: bool = False  # --accept-model-change: a float64 case's changed model, numbers agreeing

    @property
    def numeric_passed(self) -> bool:
        return (
            not self.error
            and self.iraw_relative_error <= self.tolerance
            and self.ilinear_relative_error <= self.tolerance
            and self.strength_abs_error <= self.strength_tolerance
            and self.rolls_match
        )

    @property
    def passed(self) -> bool:
        return self.numeric_passed and (not self.model_changed or self.model_change_accepted)

    @property
    def failure_kind(self) -> str:
        """'' (passed), 'error', 'model changed', 'numeric' or 'model changed and numeric'."""
        if self.error:
            return "error"
        if self.passed:
            return ""
        kinds = [k for k, bad in (("model changed", self.model_changed), ("numeric", not self.numeric_passed)) if bad]
        return " and ".join(kinds)

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["passed"] = self.passed
        data["numeric_passed"] = self.numeric_passed
        data["failure_kind"] = self.failure_kind
        return data


def broken_case_result(name: str, exc: BaseException) -> CaseResult:
    """The verdict on a case that could not be read or run."""
    inf = math.inf
    return CaseResult(name, "?", inf, inf, inf, False, 0.0, f"{type(exc).__name__}: {exc}")


@dataclasses.dataclass(frozen=True)
class PortRun:
    """The port's outputs in the case file's layout (H×W×C×K, trailing K=1 dropped)."""

    iraw: np.ndarray
    ilinear: np.ndarray
    activation_log: np.ndarray
    rolls: np.ndarray


@dataclasses.dataclass(frozen=True)
class Judgement:
    """A verdict together with the port's run (``None`` when the case could not run)."""

    result: CaseResult
    case: Optional[ParityCase] = None
    port: Optional[PortRun] = None


@functools.lru_cache(maxsize=4)
def _network(path: str, _stamp: tuple[int, int]):
    return _package.as_network(Path(path))


def load_network(path: Path):
    """The network in ``path``, reused across cases while the file is unchanged."""
    status = path.stat()
    return _network(str(path), (status.st_mtime_ns, status.st_size))


def run_port(case: ParityCase, model_path: Path, device: str = "cpu") -> PortRun:
    """Run the port on ``case`` exactly as the reference was made."""
    dtype = torch.float64 if case.precision == "double" else torch.float32
    result = _package.run_deep_dream(
        load_network(model_path),
        case.layer,
        [c - 1 for c in case.channels],
        initial_image=case.initial_image,
        settings=_package.DreamSettings(case.num_iterations, case.pyramid_levels, case.pyramid_scale),
        dtype=dtype,
        device=torch.device(device),
        stream=_package.twister(case.rng_seed),
        tile_size=case.tile_size,
    )
    return PortRun(
        iraw=_package.matlab_squeeze(_package.to_hwck(result.images)),
        ilinear=_package.matlab_squeeze(_package.to_hwck(_package.scale_linear(result.images))),
        activation_log=np.asarray(result.activation_log, dtype=np.float64).reshape(-1, 3),
        rolls=np.asarray(result.rolls, dtype=np.float64).reshape(-1, 2),
    )


def _max_error_location(actual: np.ndarray, expected: np.ndarray) -> tuple[float, tuple[int, ...]]:
    actual = _package.matlab_squeeze(np.asarray(actual, dtype=np.float64))
    expected = _package.matlab_squeeze(np.asarray(expected, dtype=np.float64))
    if actual.shape != expected.shape or not expected.size:
        return math.inf, ()
    difference = np.abs(actual - expected)
    index = np.unravel_index(int(np.argmax(np.nan_to_num(difference, nan=np.inf))), difference.shape)
    return float(difference[index]), tuple(int(i) + 1 for i in index)


def _strength_rows(port: np.ndarray, reference: np.ndarray) -> tuple[tuple[float, float, float, float], ...]:
    rows = []
    for k in range(max(len(port), len(reference))):
        ref = reference[k] if k < len(reference) else (math.nan,) * 3
        got = port[k] if k < len(port) else (math.nan,) * 3
        level, iteration = (ref[0], ref[1]) if k < len(reference) else (got[0], got[1])
        rows.append((float(level), float(iteration), float(ref[2]), float(got[2])))
    return tuple(rows)


def _relative(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b != 0 else abs(a - b)


def error_pixels(actual: np.ndarray, expected: np.ndarray) -> tuple[int, int]:
    """(pixels whose error is at least :data:`SPREAD_LEVEL` × the largest error, all pixels) of two H×W×C×K arrays.

    A pixel is one position of one image; its error is the largest over the colour
    channels. Arrays of different shapes give ``(0, 0)``; no error at all, ``(0, pixels)``.

    Example:
        >>> reference = np.zeros((10, 10, 3, 2)); port = reference.copy(); port[4, 5, 1, 0] = 3e-5
        >>> error_pixels(port, reference)
        (1, 200)
    """
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape or not expected.size:
        return 0, 0
    while actual.ndim < 4:
        actual, expected = actual[..., None], expected[..., None]
    error = np.nan_to_num(np.abs(actual - expected), nan=np.inf).max(axis=2)  # H×W×K
    largest = float(error.max())
    if largest == 0:
        return 0, error.size
    return int(np.count_nonzero(error >= SPREAD_LEVEL * largest)), error.size


@dataclasses.dataclass(frozen=True)
class AmplificationSigns:
    """The three signs of float32 rounding amplified by the iterations, measured on a failing case."""

    first: float  # relative strength difference at the first iteration
    later: float  # the largest relative strength difference of the later iterations (0 with one iteration)
    error_pixels: int
    pixels: int

    @property
    def onset(self) -> bool:
        """The first strength (one forward pass on the same start image) agrees to float32 rounding."""
        return self.first <= FLOAT32_FIRST_STRENGTH_ROUNDING

    @property
    def growth(self) -> bool:
        """The strengths drift apart: a later difference is 10× the first one and 10× a strength's rounding."""
        return self.later >= GROWTH * max(self.first, STRENGTH_ROUNDING)

    @property
    def spread(self) -> bool:
        """The image error is spread: at least 1 % of the pixels (and 16) carry a tenth of the largest error."""
        return self.error_pixels >= max(SPREAD_MIN_PIXELS, SPREAD_MIN_SHARE * self.pixels)

    @property
    def amplification(self) -> bool:
        return self.onset and self.growth and self.spread


def amplification_signs(result: CaseResult) -> AmplificationSigns:
    """Onset, growth and spread of ``result``'s differences (its strengths must have the reference's shape)."""
    differences = [_relative(port, reference) for _, _, reference, port in result.strengths]
    first = differences[0] if differences else 0.0
    later = max(differences[1:], default=0.0)
    return AmplificationSigns(first, later, result.iraw_error_pixels, result.iraw_pixels)


def diagnose(case: ParityCase, result: CaseResult) -> str:
    """What kind of failure ``result`` is, most basic cause first (see the module's description)."""
    notes = []
    rolls_differ = not result.rolls_match and not result.error
    if rolls_differ:
        notes.append(
            "the random tile rolls differ: the port drew another random stream (another seed, TileSize or "
            "state of the stream before the run) or tiled other iterations, so the runs cannot be compared "
            "number by number; this is not a rounding effect, and recording in float64 would not change it"
            if len(case.rolls)
            else "the random tile rolls differ: the port tiled iterations that the reference did not"
        )
    if result.model_changed:
        notes.append(
            f"the model changed: {case.network} has sha256 {result.current_sha256[:16]}…, "
            f"the case was recorded with {result.recorded_sha256[:16]}…" + _model_change_advice(case, result)
        )
    if result.numeric_passed or rolls_differ:
        return "; ".join(notes)
    rows = result.strengths
    positions_agree = all(r[2] == r[2] and r[3] == r[3] for r in rows)  # no NaN padding
    if not positions_agree or not math.isfinite(result.strength_abs_error):
        notes.append("the iteration log differs in shape (pyramid levels or iterations changed)")
        return "; ".join(notes)
    signs = amplification_signs(result)
    where = ",".join(map(str, result.iraw_max_error_at))
    if result.iraw_relative_error > result.tolerance and not signs.spread:
        notes.append(
            f"the image error is localised: {signs.error_pixels} of {signs.pixels} pixels carry more than a tenth "
            f"of the largest error ({result.iraw_max_abs_error:.1e} at Iraw({where})); rounding amplified by the "
            "iterations spreads over the whole image, so this is not amplification but a difference at these "
            "pixels only (an edited or damaged case file, or a computation that differs there, such as a tile border)"
        )
        return "; ".join(notes)
    if case.precision != "single":
        notes.append(
            f"a float64 case: strengths differ by {signs.first:.1e} (relative) at the first iteration and up to "
            f"{signs.later:.1e} later; float64 rounding stays far below the 1e-10 tolerance, so this is a real change"
        )
    elif signs.amplification:
        notes.append(
            f"consistent with float32 amplification: the first iteration's strength agrees to {signs.first:.1e} "
            f"(float32 rounding, <= {FLOAT32_FIRST_STRENGTH_ROUNDING:.0e}), the difference grows to {signs.later:.1e} "
            f"over the iterations and the image error is spread ({signs.error_pixels} of {signs.pixels} pixels carry "
            "a tenth of the largest), as the README explains; record the case in float64 to check across machines"
        )
    elif not signs.onset:
        notes.append(
            f"not float32 amplification: the strengths differ by {signs.first:.1e} (relative) already at the first "
            f"iteration, beyond float32 rounding ({FLOAT32_FIRST_STRENGTH_ROUNDING:.0e}): the network computes something else"
        )
    else:
        notes.append(
            f"not float32 amplification: the strengths do not drift apart over the iterations (first {signs.first:.1e}, "
            f"later at most {signs.later:.1e}) although the images differ by {result.iraw_relative_error:.1e}: "
            "the images changed after the run (a rescaled or re-saved case file) or in its last update only"
        )
    return "; ".join(notes)


def _model_change_advice(case: ParityCase, result: CaseResult) -> str:
    """What a changed model file means for ``result`` and what to do (empty when its numbers disagree)."""
    if not result.numeric_passed:
        return ""
    if result.model_change_accepted:
        return (
            f" (its numbers agree within the case's tolerance {result.tolerance:.0e}: accepted by "
            "--accept-model-change; `deepdream parity record --update-model` stores the new sha256 in the case)"
        )
    if case.precision != "double":
        return (
            f" (its numbers agree within the float32 tolerance {result.tolerance:.0e}, which can hide a changed "
            "weight, so a float32 case is never accepted: re-record it, in float64 to check across machines)"
        )
    return (
        " (its numbers agree within the case's tolerance: if the new file is intended, accept it with "
        "--accept-model-change, or store its sha256 with `deepdream parity record --update-model`)"
    )


def compare(case: ParityCase, port: PortRun, current_sha256: str = "", accept_model_change: bool = False) -> CaseResult:
    """The verdict on ``port`` against the numbers recorded in ``case``.

    ``accept_model_change``: a float64 case whose model file changed passes when its numbers
    agree (float32 cases never: a weight changed by 1e-3 moves the images by ~2e-6, inside 1e-5).
    """
    tolerance, strength_tolerance = precision_tolerances(case)
    log, expected_log = port.activation_log, case.activation_log
    if log.shape == expected_log.shape and np.array_equal(log[:, :2], expected_log[:, :2]):
        strength_error = float(np.max(np.abs(log[:, 2] - expected_log[:, 2]))) if log.size else 0.0
    else:
        strength_error = math.inf
    max_abs, where = _max_error_location(port.iraw, case.iraw)
    spread, pixels = error_pixels(_package.matlab_squeeze(port.iraw), _package.matlab_squeeze(case.iraw))
    recorded_sha = case.provenance.model_sha256
    result = CaseResult(
        case=case.name,
        precision=case.precision,
        iraw_relative_error=relative_error(port.iraw, case.iraw),
        ilinear_relative_error=relative_error(port.ilinear, case.ilinear),
        strength_abs_error=strength_error,
        rolls_match=bool(port.rolls.shape == case.rolls.shape and np.array_equal(port.rolls, case.rolls)),
        tolerance=tolerance,
        strength_tolerance=strength_tolerance,
        recorded_by=case.provenance.recorded_by or "matlab",
        model_changed=bool(recorded_sha and current_sha256 and recorded_sha != current_sha256),
        recorded_sha256=recorded_sha,
        current_sha256=current_sha256,
        iraw_max_abs_error=max_abs,
        iraw_max_error_at=where,
        strengths=_strength_rows(log, expected_log),
        iraw_error_pixels=spread,
        iraw_pixels=pixels,
    )
    accepted = accept_model_change and result.model_changed and result.numeric_passed and case.precision == "double"
    result = dataclasses.replace(result, model_change_accepted=accepted)
    return dataclasses.replace(result, diagnosis=diagnose(case, result))


def judge_case(
    case: ParityCase, models_dir: str | Path, device: str = "cpu", accept_model_change: bool = False
) -> Judgement:
    """Run the port on ``case`` and judge it (model file identity included; see :func:`compare`)."""
    model_path = Path(models_dir) / case.network
    current_sha = file_sha256(model_path) if case.provenance.model_sha256 else ""
    port = run_port(case, model_path, device)
    return Judgement(compare(case, port, current_sha, accept_model_change), case, port)


def run_case(case: ParityCase, models_dir: str | Path, device: str = "cpu") -> CaseResult:
    """Run the port on ``case`` exactly as the reference was made, and compare."""
    return judge_case(case, models_dir, device).result


def verdict_text(result: CaseResult) -> str:
    """``PASS``, ``PASS (model changed, accepted)`` or ``FAIL (kind)``."""
    if result.passed:
        return "PASS (model changed, accepted)" if result.model_change_accepted else "PASS"
    return f"FAIL ({result.failure_kind})"


def describe_result(result: CaseResult) -> str:
    """A readable failure diff: verdict, strengths table first, then the image errors."""
    lines = [f"{result.case} ({result.precision}, recorded by {result.recorded_by}): " + (verdict_text(result))]
    if result.error:
        lines.append(f"  could not run: {result.error}")
        return "\n".join(lines)
    if result.diagnosis:
        lines.append(f"  {result.diagnosis}")
    lines.append(
        f"  activation strengths (max abs difference {result.strength_abs_error:.3e}, tolerance {result.strength_tolerance:.1e}):"
    )
    lines.append(f"    {'level':>5s} {'iter':>4s} {'reference':>22s} {'port':>22s} {'difference':>11s}")
    for level, iteration, reference, port in result.strengths:
        lines.append(f"    {level:5.0f} {iteration:4.0f} {reference:22.15g} {port:22.15g} {port - reference:11.2e}")
    where = ",".join(map(str, result.iraw_max_error_at)) or "-"
    lines.append(
        f"  Iraw: relative error {result.iraw_relative_error:.3e} (tolerance {result.tolerance:.0e}), "
        f"max abs error {result.iraw_max_abs_error:.3e} at Iraw({where}); "
        f"{result.iraw_error_pixels} of {result.iraw_pixels} pixels carry a tenth of it or more"
    )
    lines.append(f"  Ilinear: relative error {result.ilinear_relative_error:.3e} (tolerance {result.tolerance:.0e})")
    lines.append(f"  rolls: {'identical' if result.rolls_match else 'DIFFERENT'}")
    return "\n".join(lines)

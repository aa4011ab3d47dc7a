"""Recording parity cases with the port itself.

A team that ships its own network records the port's deep-dream outputs once
(``deepdream parity record``) and checks them in CI after every upgrade of
torch, onnx2torch or deepdreamport, or after re-exporting the model. A recorded
case has exactly the fields of a MATLAB-made one (schema v1), run the way
``parity/matlab/make_reference.m`` runs MATLAB: the initial image is stored,
``rng(seed, 'twister')`` is set just before the run, and the output is kept
with both ``OutputScaling`` values. Provenance fields say that the port made
it and with what (see :mod:`.cases`).

A batch is a TOML file: an optional ``[defaults]`` table and one ``[[case]]``
table per case, with the keys of :class:`RecordSpec` (paths relative to the
TOML file)::

    [defaults]
    model = "models/my_net.onnx"
    iterations = 2
    precision = "double"

    [[case]]
    layer = "relu1"
    channels = "1:3"      # MATLAB style, or a list [1, 2, 3]
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import tomllib
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np
import torch

from . import _package
from .cases import PORT_RECORDER, ParityCase, Provenance, case_writer, file_sha256, load_case
from .judge import Judgement, judge_case, load_network, run_port

PRECISIONS = ("single", "double")


class RecordError(ValueError):
    """Bad recording input; the message names the argument."""


@dataclasses.dataclass(frozen=True)
class RecordSpec:
    """What to record: one ``deepDreamImage`` call (channels 1-based, as in MATLAB)."""

    model: Path
    layer: str
    channels: tuple[int, ...]
    name: str = ""
    image: Optional[Path] = None
    size: Optional[tuple[int, int]] = None  # of the random initial image; default the network's input size
    iterations: int = 10
    levels: int = 3
    scale: float = 1.4
    seed: int = 0
    precision: str = "double"
    tile_size: Optional[int] = None
    device: str = "cpu"

    def case_name(self) -> str:
        if self.name:
            return self.name
        layer = "".join(ch if ch.isalnum() else "_" for ch in str(self.layer)).strip("_")
        return f"{self.model.stem}_{layer}_{self.precision}"


def check_spec(spec: RecordSpec, where: str = "") -> None:
    """Reject bad values with one line naming the argument."""
    prefix = f"{where}: " if where else ""
    try:
        _package.check_onnx_path(spec.model, f"{prefix}MODEL")
        if spec.image is not None:
            _package.check_input_file(spec.image, f"{prefix}--image", "image")
    except _package.DeepDreamError as exc:
        raise RecordError(str(exc)) from None
    if spec.precision not in PRECISIONS:
        raise RecordError(f"{prefix}--precision: expected 'single' or 'double'; got {spec.precision!r}")
    if spec.iterations < 1 or spec.levels < 1:
        raise RecordError(f"{prefix}--iterations and --levels must be positive integers")
    if not spec.scale > 1:
        raise RecordError(f"{prefix}--scale: PyramidScale must be greater than 1; got {spec.scale}")
    if not spec.channels or min(spec.channels) < 1:
        raise RecordError(f"{prefix}--channels: 1-based channel numbers are needed; got {list(spec.channels)}")
    if spec.size is not None and (len(spec.size) != 2 or min(spec.size) < 1):
        raise RecordError(f"{prefix}--size: expected HxW with positive sides; got {spec.size}")


def _read_image(path: Path, channels: int) -> np.ndarray:
    try:
        with _package.open_image(path) as image:
            array = np.asarray(image.convert("L" if channels == 1 else "RGB"), dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise RecordError(f"--image: cannot read {str(path)!r} as an image ({exc})") from None
    return array[:, :, None] if array.ndim == 2 else array


def initial_image(spec: RecordSpec, network) -> np.ndarray:
    """The stored ``InitialImage``: the given picture, or ``randn`` after ``rng(seed)`` plus the input mean."""
    dtype = np.float64 if spec.precision == "double" else np.float32
    if spec.image is not None:
        return _read_image(spec.image, network.input_channels).astype(dtype)
    size = spec.size
    if size is None:
        if None in network.input_size:
            raise RecordError("--size: the network's input size is dynamic; give the initial image's HxW")
        size = network.input_size
    image = _package.twister(spec.seed).standard_normal((size[0], size[1], network.input_channels))
    mean = network.input_mean()
    if mean is not None:
        image = image + np.asarray(mean, dtype=np.float64).reshape(1, 1, -1)
    return image.astype(dtype)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def provenance(spec: RecordSpec, model_sha256: str) -> Provenance:
    """Who made the case and with what."""
    torch_version = torch.__version__
    onnx2torch_version = _version("onnx2torch")
    device = str(_package.resolve_device(spec.device))
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    source = (
        f"recorded by the port, not MATLAB: deepdreamport {_package.PACKAGE_VERSION}, torch {torch_version}, "
        f"onnx2torch {onnx2torch_version}, device {device}, {spec.precision}, model {spec.model.name} "
        f"sha256 {model_sha256}, {when}"
    )
    return Provenance(
        source=source,
        recorded_by=PORT_RECORDER,
        package_version=_package.PACKAGE_VERSION,
        torch_version=torch_version,
        onnx2torch_version=onnx2torch_version,
        device=device,
        model_sha256=model_sha256,
    )


def record_case(spec: RecordSpec, out_dir: str | Path, overwrite: bool = False) -> ParityCase:
    """Run the port for ``spec`` and write ``OUT/<name>.mat``; returns the written case (see :func:`record_batch`)."""
    return record_batch([spec], out_dir, overwrite)[0]


def resolve_spec(spec: RecordSpec, network) -> RecordSpec:
    """``spec`` with its layer as the layer's name: a row number (``3``, ``#3``, or an int from TOML) becomes
    the name of that row of ``deepdream layers``, by the command line's layer rule (an exact name wins)."""
    names = [row.name for row in network.layers]
    text = spec.layer if isinstance(spec.layer, str) else f"#{spec.layer}"
    layer = _package.resolve_layer_name(network, _package.layer_from_text(text, names, "--layer"), base=1)
    return dataclasses.replace(spec, layer=layer)


def _recorded(spec: RecordSpec, target: Path, network, device: str) -> ParityCase:
    empty = np.zeros((0,))
    case = ParityCase(
        path=target,
        network=spec.model.name,
        layer=spec.layer,
        channels=tuple(spec.channels),
        initial_image=initial_image(spec, network),
        num_iterations=spec.iterations,
        pyramid_levels=spec.levels,
        pyramid_scale=float(spec.scale),
        tile_size=network.tile_size(spec.tile_size),
        rng_seed=spec.seed,
        precision=spec.precision,
        iraw=empty,
        ilinear=empty,
        activation_log=empty.reshape(0, 3),
        rolls=empty.reshape(0, 2),
    )
    with _package.degenerate_warnings() as degenerate:
        port = run_port(case, spec.model, device)
    if degenerate:
        raise RecordError(
            f"case {spec.case_name()!r}: {degenerate[0]} A parity case must make its units respond: "
            "choose another start image (--image, --seed, --size), layer or channels; nothing was written"
        )
    return dataclasses.replace(
        case,
        iraw=port.iraw,
        ilinear=port.ilinear,
        activation_log=port.activation_log,
        rolls=port.rolls,
        provenance=provenance(spec, file_sha256(spec.model)),
    )


SPEC_KEYS = {f.name for f in dataclasses.fields(RecordSpec)}


def channels_from(value: Any, where: str) -> tuple[int, ...]:
    """1-based channels from a MATLAB-style string (``"1:3,7"``), an integer or a list."""
    if isinstance(value, str):
        try:
            return tuple(_package.parse_channels(value))
        except Exception as exc:  # the port's parser says what is wrong
            raise RecordError(f"{where}: {exc}") from None
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise RecordError(f"{where}: channels must be integers or a MATLAB range string; got {value!r}")
    return tuple(values)


def spec_from_table(table: dict[str, Any], base: Path, where: str) -> RecordSpec:
    """A :class:`RecordSpec` from one TOML case table (paths relative to ``base``)."""
    unknown = sorted(set(table) - SPEC_KEYS)
    if unknown:
        raise RecordError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(SPEC_KEYS)}")
    missing = [key for key in ("model", "layer", "channels") if key not in table]
    if missing:
        raise RecordError(f"{where}: missing {missing}")
    values = dict(table)
    for key in ("model", "image"):  # relative to the TOML file; a URL is named before it becomes a path
        if _package.is_url(values.get(key)):
            raise RecordError(f"{where}: {key}: {values[key]!r} is a URL; nothing is downloaded: give a file's path")
    values["model"] = base / _package.user_path(values["model"])  # ~ expanded as on the command line
    if values.get("image") is not None:
        values["image"] = base / _package.user_path(values["image"])
    if values.get("size") is not None:
        values["size"] = tuple(values["size"])
    values["channels"] = channels_from(values["channels"], f"{where}: channels")
    try:
        spec = RecordSpec(**values)
    except TypeError as exc:
        raise RecordError(f"{where}: {exc}") from None
    check_spec(spec, where)
    return spec


def read_batch(path: str | Path) -> list[RecordSpec]:
    """The cases of a TOML batch file (``[defaults]`` merged into each ``[[case]]``)."""
    try:
        path = _package.check_input_file(path, "--batch", "TOML file")
    except _package.DeepDreamError as exc:
        raise RecordError(str(exc)) from None
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RecordError(f"--batch: cannot read {str(path)!r} as TOML ({exc})") from None
    unknown = sorted(set(document) - {"defaults", "case"})
    if unknown:
        raise RecordError(
            f"--batch: {str(path)!r} has unknown top-level key(s) {unknown}; expected [defaults] and [[case]]"
        )
    defaults = document.get("defaults", {})
    tables = document.get("case", [])
    if not isinstance(tables, list) or not tables:
        raise RecordError(f"--batch: {str(path)!r} has no [[case]] tables")
    specs = [
        spec_from_table({**defaults, **table}, path.parent, f"--batch {path.name}, case {k}")
        for k, table in enumerate(tables, 1)
    ]
    names = [spec.case_name() for spec in specs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise RecordError(f"--batch: case names repeat: {repeated}; give each case a distinct name")
    return specs


def record_batch(specs: Sequence[RecordSpec], out_dir: str | Path, overwrite: bool = False) -> list[ParityCase]:
    """Record every spec into ``out_dir`` (made with its parents if missing); returns the written cases.

    Everything is checked before any case runs: each spec, the device, the
    layers (names or rows), and every output (:mod:`deepdreamport.doors.outputs`:
    not an input, not an existing case without ``overwrite``, no two cases on one
    file; each case's temporary file is created at the start). Every case runs
    before any is renamed into place, so a refused case (degenerate images), an
    error or an interrupt writes none.
    """
    for spec in specs:
        check_spec(spec)
    devices = {spec.device: str(_package.resolve_device(spec.device, "--device")) for spec in specs}
    networks = [load_network(spec.model) for spec in specs]
    specs = [resolve_spec(spec, network) for spec, network in zip(specs, networks)]
    inputs: dict[str, Path] = {}
    for spec in specs:
        inputs[f"MODEL {spec.model.name}"] = spec.model
        if spec.image is not None:
            inputs[f"--image {spec.image.name}"] = spec.image
    with _package.output_folder("--out", out_dir, inputs, parents=True) as folder:
        outputs = {
            ("--out" if len(specs) == 1 else f"--out, case {k}"): folder / f"{spec.case_name()}.mat"
            for k, spec in enumerate(specs, 1)
        }
        for option, target in outputs.items():
            if target.exists() and not overwrite:
                raise RecordError(f"{option}: {str(target)!r} exists; pass --overwrite to replace it")
        with _package.reserved_outputs(outputs, inputs, {option: (".mat",) for option in outputs}) as reserved:
            cases = [
                _recorded(spec, outputs[option], network, devices[spec.device])
                for spec, network, option in zip(specs, networks, outputs)
            ]
            for option, case in zip(outputs, cases):
                reserved[option].commit(case_writer(case))
    return cases


def update_model_hashes(
    case_paths: Sequence[Path],
    models_dir: str | Path,
    out_dir: str | Path,
    overwrite: bool = False,
    device: str = "cpu",
) -> tuple[list[ParityCase], list[Judgement]]:
    """Store the current model files' sha256 in recorded cases whose numbers the port still gives.

    For a re-exported model: every case is judged against ``models_dir`` first; only when
    all of them agree within their tolerances (the model's sha256 aside) is each written to
    ``out_dir`` under its own file name, with the new ``modelSha256`` and a ``source`` line
    saying what was updated. Its numbers are kept as recorded. Returns the written cases and
    the judgements; when any case disagrees, nothing is written and the written list is empty.
    An existing file (the case itself, when ``out_dir`` is its folder) is replaced only with
    ``overwrite``.
    """
    cases = [load_case(path) for path in case_paths]
    for case in cases:
        if not case.provenance.model_sha256:
            raise RecordError(
                f"--update-model: {case.path.name} holds no model sha256 (a MATLAB case, or one recorded before provenance): "
                "nothing to update"
            )
    device = str(_package.resolve_device(device, "--device"))
    inputs = {f"model {path.name}": path for path in Path(models_dir).iterdir()}
    inputs["--models folder"] = Path(models_dir)
    try:
        with _package.output_folder("--out", out_dir, inputs, parents=True) as folder:
            outputs = {
                ("--out" if len(cases) == 1 else f"--out, case {k}"): folder / case.path.name
                for k, case in enumerate(cases, 1)
            }
            for option, target in outputs.items():
                if target.exists() and not overwrite:
                    raise RecordError(f"{option}: {str(target)!r} exists; pass --overwrite to replace it")
            with _package.reserved_outputs(outputs, inputs, {option: (".mat",) for option in outputs}) as reserved:
                judgements = [judge_case(case, models_dir, device) for case in cases]
                if not all(j.result.numeric_passed for j in judgements):
                    raise _NumbersDisagree(judgements)  # leaves no temporary file, nor a folder made for them
                updated = [
                    _with_model_hash(case, target, judgement)
                    for case, target, judgement in zip(cases, outputs.values(), judgements)
                ]
                for option, case in zip(outputs, updated):
                    reserved[option].commit(case_writer(case))
    except _NumbersDisagree as disagree:
        return [], disagree.judgements
    return updated, judgements


class _NumbersDisagree(Exception):
    def __init__(self, judgements: list[Judgement]):
        super().__init__("the port no longer gives the cases' numbers")
        self.judgements = judgements


def _with_model_hash(case: ParityCase, target: Path, judgement: Judgement) -> ParityCase:
    """``case`` at ``target`` with the judged model's sha256, its numbers unchanged."""
    result = judgement.result
    old, new = case.provenance.model_sha256, result.current_sha256
    if old == new:
        return dataclasses.replace(case, path=target)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note = (
        f"; model sha256 updated from {old} to {new} by deepdreamport {_package.PACKAGE_VERSION}, {when}, "
        f"its numbers agreeing (Iraw relative error {result.iraw_relative_error:.1e})"
    )
    provenance = dataclasses.replace(case.provenance, model_sha256=new, source=case.provenance.source + note)
    return dataclasses.replace(case, path=target, provenance=provenance)

"""One atlas job, from the Python API and the command line: check everything, then render what is left.

All input is checked before anything is written (:func:`plan_atlas`); a bad
argument raises :class:`AtlasInputError` with one line naming it. Then
:func:`execute` records the job and its units, recovers units abandoned by
dead processes, and lets an engine render batches while this process, the
one writer, puts each image in place (atomically) before marking it done.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from tqdm.auto import tqdm

from ._package import (
    PACKAGE_VERSION,
    DeepDreamError,
    check_onnx_path,
    check_output_folder,
    input_size,
    layer_rows,
    load_network,
    parse_channels,
    write_atomic,
)
from .engines import WorkerSpec
from .engines.local import LocalEngine
from .errors import AtlasInputError
from .gallery import build_gallery
from .recipes import get_recipe
from .state import AtlasState, JobRecord, database_path, read_existing_job
from .units import Unit, layer_slug, parse_shard, select_units
from .worker import RenderTask

ENGINES = ("local", "ray")
DEFAULT_MAX_ATTEMPTS = 3


@dataclass
class AtlasPlan:
    """A checked job: what to render, where, and how."""

    out: Path
    record: JobRecord
    units: list[Unit]
    new: bool
    engine: str
    workers: Optional[int]
    ray_address: Optional[str]
    batch: int
    max_attempts: int


@dataclass
class LayerSummary:
    layer: str
    total: int = 0
    done: int = 0
    failed: int = 0
    activation_sum: float = 0.0
    seconds: float = 0.0

    @property
    def mean_activation(self) -> float:
        return self.activation_sum / self.done if self.done else float("nan")


@dataclass
class AtlasSummary:
    """What a run achieved: units of the selection by status, units rendered now, and per layer."""

    out: Path
    total: int
    done: int
    failed: int
    rendered_now: int
    seconds: float
    layers: list[LayerSummary] = field(default_factory=list)

    @property
    def units_per_minute(self) -> float:
        return 60.0 * self.rendered_now / self.seconds if self.seconds > 0 else 0.0

    def table(self) -> str:
        lines = [f"{'layer':32s} {'done':>9s} {'failed':>6s} {'mean act.':>10s} {'busy s':>9s}"]
        for layer in self.layers:
            lines.append(
                f"{layer.layer[:32]:32s} {f'{layer.done}/{layer.total}':>9s} {layer.failed:6d} "
                f"{layer.mean_activation:10.3g} {layer.seconds:9.1f}"
            )
        lines.append(
            f"{self.done}/{self.total} units done, {self.failed} failed; {self.rendered_now} rendered now "
            f"in {self.seconds:.1f} s ({self.units_per_minute:.1f} units/min)"
        )
        return "\n".join(lines)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_out_folder(out: Any, model: Any = None) -> None:
    """``out`` must be named, be a writable folder or not exist yet under a writable folder, and not be the model.

    Checked without leaving a trace, by the output check every command shares
    (:func:`deepdreamport.doors.outputs.check_output_folder`); an empty name is refused, not read as ``.``.
    """
    try:
        out = check_output_folder("--out", out, {"MODEL": model})
    except DeepDreamError as exc:
        raise AtlasInputError(str(exc)) from None
    if out.exists() and database_path(out).exists() and not os.access(database_path(out), os.W_OK):
        raise AtlasInputError(f"--out: the database {str(database_path(out))!r} is read-only")


def parse_channel_spec(spec: Any) -> Optional[list[int]]:
    """``'all'``/``None`` → ``None``; a MATLAB-style list (``1:8``, ``1,3,5``) or a sequence → 1-based channels."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "all"):
        return None
    if isinstance(spec, str):
        if not spec.strip():
            raise AtlasInputError("--channels: the selection is empty")
        try:
            return parse_channels(spec)
        except Exception as exc:  # the package's own parse error, already worded for --channels
            raise AtlasInputError(str(exc)) from None
    try:
        return [int(c) for c in spec]
    except (TypeError, ValueError):
        raise AtlasInputError(f"--channels: expected 'all', a MATLAB-style list or integers; got {spec!r}") from None


def plan_atlas(
    model: Any,
    out: Any,
    *,
    layers: Optional[str] = "all",
    channels: Any = "all",
    recipe: str = "matlab",
    params: Optional[Mapping[str, Any]] = None,
    engine: str = "local",
    workers: Optional[int] = None,
    ray_address: Optional[str] = None,
    batch: int = 8,
    shard: Optional[str] = None,
    seed: int = 0,
    new: bool = False,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> AtlasPlan:
    """Check every argument (nothing is written); raises :class:`AtlasInputError` on the first bad one."""
    if engine not in ENGINES:
        raise AtlasInputError(f"--engine: expected one of {', '.join(ENGINES)}; got {engine!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise AtlasInputError(f"--batch: expected a positive integer; got {batch!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise AtlasInputError(f"--workers: expected a positive integer; got {workers!r}")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise AtlasInputError(f"--max-attempts: expected a positive integer; got {max_attempts!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise AtlasInputError(f"--seed: expected an integer in 0..2^32-1; got {seed!r}")
    if ray_address is not None and engine != "ray":
        raise AtlasInputError("--ray-address: only meaningful with --engine ray")
    chosen_recipe = get_recipe(recipe)
    recipe_params = chosen_recipe.parameters(params)
    shard_spec = parse_shard(shard)
    channel_list = parse_channel_spec(channels)
    check_out_folder(out, model)
    out = Path(out).expanduser().resolve()
    try:
        model_path = check_onnx_path(os.path.expanduser(model if model is not None else ""), "MODEL").resolve()
    except DeepDreamError as exc:
        raise AtlasInputError(str(exc)) from None
    try:
        network = load_network(str(model_path))
    except Exception as exc:  # any loader failure is a bad MODEL argument
        raise AtlasInputError(
            f"MODEL: cannot load {str(model)!r} as an ONNX network ({' '.join(str(exc).split())})"
        ) from None
    record = JobRecord(
        model_path=str(model_path),
        model_sha256=file_sha256(model_path),
        recipe=chosen_recipe.name,
        params=recipe_params,
        seed=seed,
        package_version=PACKAGE_VERSION,
        network={"input_size": input_size(network), "input_channels": network.input_channels},
    )
    existing = read_existing_job(out)
    if existing is not None and not new:
        differences = existing.differences(record)
        if differences:
            raise AtlasInputError(
                f"--out: {str(out)!r} holds another atlas: {'; '.join(differences)}; pass --new to replace it"
            )
    units = select_units(layer_rows(network), layers, channel_list, shard_spec)
    if engine == "ray":
        from .engines.ray_engine import check_address, import_ray

        import_ray()
        if ray_address:
            check_address(ray_address)
    return AtlasPlan(out, record, units, new, engine, workers, ray_address, batch, max_attempts)


def make_engine(plan: AtlasPlan):

    spec = WorkerSpec(plan.record.model_path, plan.record.recipe, plan.record.params, plan.record.seed)
    if plan.engine == "ray":
        from .engines.ray_engine import RayEngine

        return RayEngine(spec, plan.workers, plan.ray_address)

    return LocalEngine(spec, plan.workers)


def image_path(layer_index: int, layer: str, channel: int) -> str:
    """Where a unit's image lives, relative to the atlas folder."""
    return f"images/{layer_slug(layer_index, layer)}/unit_{channel:04d}.png"


def _store(state: AtlasState, out: Path, result) -> int:
    """Put a batch's images in place, then mark their units done; returns how many were marked."""
    marked = 0
    for unit in result.units:
        relative = image_path(result.task.layer_index, result.task.layer, unit.channel)
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, lambda handle, data=unit.png: handle.write(data))
        marked += state.mark_done(
            unit.unit_id,
            worker=result.worker,
            activation=unit.activation,
            image_path=relative,
            image_sha256=unit.sha256,
            curve=result.curve,
            examples=unit.examples,
        )
    return marked


def execute(plan: AtlasPlan, *, progress: bool = True, gallery: bool = True, engine=None) -> AtlasSummary:
    """Record the job, render every selected unit not yet done, build the gallery; returns the summary."""

    plan.out.mkdir(parents=True, exist_ok=True)
    state = AtlasState(plan.out)
    engine = engine or make_engine(plan)
    started = time.perf_counter()
    rendered = 0
    try:
        state.start_job(plan.record, replace=plan.new)
        state.add_units(plan.units)
        total = state.select(plan.units)
        state.recover_abandoned()
        done_before = state.counts().get("done", 0)
        bar = tqdm(
            total=total,
            initial=done_before,
            desc="atlas",
            unit="unit",
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
        )
        try:
            if state.claimable(plan.max_attempts):
                engine.start()
            while state.claimable(plan.max_attempts) or engine.in_flight():
                state.heartbeat()
                for label in engine.idle_workers():
                    claim = state.claim(plan.batch, label, plan.max_attempts)
                    if claim is None:
                        break
                    engine.submit(
                        label,
                        RenderTask(
                            claim.layer, claim.layer_index, tuple(u.channel for u in claim.units), tuple(claim.unit_ids)
                        ),
                    )
                if engine.in_flight() == 0:
                    break  # what is left is held by another process
                for outcome in engine.wait(timeout=1.0):
                    if outcome.result is not None:
                        count = _store(state, plan.out, outcome.result)
                        rendered += count
                        bar.update(count)
                        minutes = (time.perf_counter() - started) / 60
                        bar.set_postfix_str(f"{rendered / minutes:.1f} units/min", refresh=False)
                    else:
                        state.mark_failed(outcome.task.unit_ids, outcome.error or "unknown error")
                        bar.write(
                            f"atlas: {outcome.task.layer} units {list(outcome.task.channels)} failed: "
                            f"{(outcome.error or '').splitlines()[0]}",
                            file=sys.stderr,
                        )
        except BaseException:
            # interrupted or broken: hand back what this process holds, so a re-run picks it up at once
            engine.close()
            state.release_all()
            raise
        finally:
            bar.close()
        engine.close()
        summary = summarize(state, plan.out, rendered, time.perf_counter() - started)
    finally:
        state.close()
    if gallery:
        build_gallery(plan.out)
    return summary


def summarize(state: AtlasState, out: Path, rendered: int, seconds: float) -> AtlasSummary:
    layers: dict[str, LayerSummary] = {}
    per_layer_seconds = defaultdict(float)
    for row in state.rows("id IN (SELECT id FROM temp.selected)"):
        entry = layers.setdefault(row["layer"], LayerSummary(row["layer"]))
        entry.total += 1
        if row["status"] == "done":
            entry.done += 1
            entry.activation_sum += row["activation"] or 0.0
            if row["started"] and row["finished"]:
                per_layer_seconds[row["layer"]] += row["finished"] - row["started"]
        elif row["status"] == "failed":
            entry.failed += 1
    for name, entry in layers.items():
        entry.seconds = per_layer_seconds[name]
    return AtlasSummary(
        out,
        sum(entry.total for entry in layers.values()),
        sum(entry.done for entry in layers.values()),
        sum(entry.failed for entry in layers.values()),
        rendered,
        seconds,
        list(layers.values()),
    )


def run_atlas(model: Any, out: Any, *, progress: bool = False, gallery: bool = True, **options: Any) -> AtlasSummary:
    """Render (or resume) the atlas of ``model`` into ``out``; the options are :func:`plan_atlas`'s."""
    return execute(plan_atlas(model, out, **options), progress=progress, gallery=gallery)

"""One atlas job, from the Python API and the command line: check everything, then do what is left.

All input is checked before anything is written (:func:`plan_atlas`); a bad argument raises
:class:`AtlasInputError` with one line naming it (``layers`` in Python, ``--layers`` on the
command line). Then :func:`execute` records the job, its units, renders and examples work,
recovers work abandoned by dead processes, and lets an engine render batches and score
example chunks while this process, the one writer, puts each image in place (atomically)
before marking it done. The gallery is rebuilt at the end, also after an interrupt.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

from tqdm.auto import tqdm

from ._package import (
    PACKAGE_VERSION,
    DeepDreamError,
    check_onnx_path,
    check_output_folder,
    input_size,
    layer_module,
    layer_rows,
    load_network,
    parse_channels,
    require,
    write_atomic,
)
from .engines import WorkerSpec
from .engines.local import LocalEngine, default_devices
from .errors import AtlasInputError
from .estimate import Estimate, estimate, time_pass
from .examples.sources import FOLDER, NONE, SKIMAGE, ExampleItem, check_folder, folder_items, skimage_items
from .gallery import build_gallery, remove_gallery, require_jinja2
from .recipes import recipe_names, recipe_parameters
from .signals import deferred_interrupts, say, terminate_as_interrupt
from .state import DATABASE_NAME, AtlasState, JobRecord, database_path, read_existing_job
from .units import LeftOut, Unit, layer_names, layer_slug, parse_shard, recipe_pairs, select_units
from .worker import ExampleResult, ExampleTask, Refusal, RenderTask

ENGINES = ("local", "ray")
DEFAULT_MAX_ATTEMPTS = 3
CHUNK_ITEMS = 128
"""Example items per unit of examples work."""
EXAMPLE_MEMORY = 512 << 20
"""Bytes of layer outputs one examples batch may hold (the batch size follows from the layers' sizes)."""
EXAMPLE_BATCH = 8
"""Most example images per network pass (the network's own activations grow with it; 8 keeps a CPU busy)."""


@dataclass
class AtlasPlan:
    """A checked job: what to render and score, where, and how.

    ``pairs`` are the (unit, recipe) renders of the selection, each unit with each recipe that
    takes its layer; ``left_out`` says, per recipe, the selected layers it cannot take (no render
    is planned for those, and renders of them an older atlas holds unfinished are dropped).
    """

    out: Path
    record: JobRecord
    pairs: list[tuple[Unit, str]]
    recipes: list[str]
    example_layers: list[tuple[str, str]]  # (layer, output tensor) of the selected layers
    new: bool
    engine: str
    workers: Optional[int]
    ray_address: Optional[str]
    batch: int
    max_attempts: int
    estimate: Optional[Estimate] = None
    left_out: list[LeftOut] = field(default_factory=list)

    @property
    def units(self) -> list[Unit]:
        """The units that have a render planned, in order."""
        return list(dict.fromkeys(unit for unit, _ in self.pairs))

    def left_out_layers(self) -> list[tuple[str, str]]:
        """``(layer, recipe)``: the selected layers a chosen recipe cannot take."""
        return [(layer, entry.recipe) for entry in self.left_out for layer, _ in entry.layers]

    @property
    def example_batch(self) -> int:
        sizes = {row["name"]: row["output_size"] for row in self.record.network["layers"]}
        per_image = sum(4 * math.prod(int(s or 1) for s in sizes[name]) for name, _ in self.example_layers) or 1
        return max(1, min(EXAMPLE_BATCH, EXAMPLE_MEMORY // (3 * per_image)))


@dataclass
class LayerSummary:
    layer: str
    recipe: str
    total: int = 0
    done: int = 0
    failed: int = 0
    dead: int = 0
    activation_sum: float = 0.0
    activations: int = 0
    seconds: float = 0.0  # wall-clock time during which the layer had work in progress

    @property
    def mean_activation(self) -> float:
        return self.activation_sum / self.activations if self.activations else float("nan")


@dataclass
class AtlasSummary:
    """What a run achieved: renders of the selection by status, renders done now, per layer, and examples."""

    out: Path
    total: int
    done: int
    failed: int
    rendered_now: int
    seconds: float
    layers: list[LayerSummary] = field(default_factory=list)
    examples_scored: int = 0
    examples_unreadable: int = 0
    examples_converted: int = 0
    examples_chunks: tuple[int, int] = (0, 0)  # (done, total) examples work rows of the selection

    @property
    def units_per_minute(self) -> float:
        return 60.0 * self.rendered_now / self.seconds if self.seconds > 0 else 0.0

    def table(self) -> str:
        lines = [
            f"{'layer':32s} {'recipe':9s} {'done':>9s} {'failed':>6s} {'dead':>5s} {'mean act.':>10s} {'wall s':>8s}"
        ]
        for layer in self.layers:
            lines.append(
                f"{layer.layer[:32]:32s} {layer.recipe[:9]:9s} {f'{layer.done}/{layer.total}':>9s} {layer.failed:6d} "
                f"{layer.dead:5d} {layer.mean_activation:10.3g} {layer.seconds:8.1f}"
            )
        lines.append(
            f"{self.done}/{self.total} renders done, {self.failed} failed; {self.rendered_now} rendered now "
            f"in {self.seconds:.1f} s ({self.units_per_minute:.1f} per minute)"
        )
        if self.examples_chunks[1]:
            extra = []
            if self.examples_unreadable:
                extra.append(f"{self.examples_unreadable} unreadable files skipped")
            if self.examples_converted:
                extra.append(f"{self.examples_converted} grey images converted to RGB")
            lines.append(
                f"examples: {self.examples_scored} images scored, work {self.examples_chunks[0]}/"
                f"{self.examples_chunks[1]} layer chunks done" + (f" ({'; '.join(extra)})" if extra else "")
            )
        return "\n".join(lines)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_out_folder(out: Any, model: Any = None) -> Path:
    """``out`` must be named, be a writable folder holding an atlas or nothing (or not exist yet under a
    writable folder), and not be the model; returns it resolved.

    Checked without leaving a trace, by the output check every command shares
    (:func:`deepdreamport.doors.outputs.check_output_folder`; an empty name is refused, not
    read as ``.``). A folder that holds files but no atlas database is refused (with ``--new``
    too): the gallery would write ``index.html`` and more over the user's own files.
    """
    try:
        out = check_output_folder("--out", out, {"MODEL": model})
    except DeepDreamError as exc:
        raise AtlasInputError(str(exc).removeprefix("--out: "), "out") from None
    if out.exists() and not database_path(out).exists():
        entries = sorted(entry.name for entry in os.scandir(out))
        if entries:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise AtlasInputError(
                f"{str(out)!r} holds files ({shown}) but no atlas ({DATABASE_NAME}); the gallery would write over "
                "them: give an empty or new folder",
                "out",
            )
    if out.exists() and database_path(out).exists() and not os.access(database_path(out), os.W_OK):
        raise AtlasInputError(f"the database {str(database_path(out))!r} is read-only", "out")
    return out


def parse_channel_spec(spec: Any) -> Optional[list[int]]:
    """``'all'``/``None`` → ``None``; a MATLAB-style list (``1:8``, ``1,3,5``) or a sequence → 1-based channels."""
    if spec is None or (isinstance(spec, str) and spec.strip().lower() == "all"):
        return None
    if isinstance(spec, str):
        if not spec.strip():
            raise AtlasInputError("the selection is empty", "channels")
        try:
            return parse_channels(spec)
        except Exception as exc:  # the package's own parse error, worded for --channels
            raise AtlasInputError(str(exc).split(": ", 1)[-1], "channels") from None
    try:
        channels = [int(c) for c in spec]
    except (TypeError, ValueError):
        raise AtlasInputError(f"expected 'all', a MATLAB-style list or integers; got {spec!r}", "channels") from None
    if any(isinstance(c, bool) for c in spec):
        raise AtlasInputError(f"expected integers; got {spec!r}", "channels")
    return channels


def _positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AtlasInputError(f"expected a positive integer; got {value!r}", name)


def _examples_source(examples: Any, network) -> tuple[dict, Optional[Path]]:
    """The examples source record and the folder (None for the bundled bank or none)."""
    if examples is None or examples is True:
        try:
            count = len(skimage_items(input_size(network)))
        except DeepDreamError as missing:
            raise AtlasInputError(f"{missing.message} (or a folder of images, or none)", "examples") from None
        return {"kind": SKIMAGE, "count": count, "chunk": CHUNK_ITEMS}, None
    if examples is False or (isinstance(examples, str) and examples.strip().lower() == "none"):
        return {"kind": NONE}, None
    if not isinstance(examples, (str, os.PathLike)):
        raise AtlasInputError(f"expected a folder of images, None (bundled) or False; got {examples!r}", "examples")
    root, facts = check_folder(examples, network.input_channels)
    return {"kind": FOLDER, "path": str(root), "fingerprint": facts.fingerprint, "count": facts.count,
            "chunk": CHUNK_ITEMS}, root  # fmt: skip


def _network_facts(network) -> dict:
    rows = layer_rows(network)
    return {
        "input_size": input_size(network),
        "input_channels": network.input_channels,
        "layers": [
            {
                "index": int(row.index),
                "name": row.name,
                "type": str(row.type),
                "output": row.output,
                "output_size": [None if s is None else int(s) for s in row.output_size],
                "output_shape": [None if s is None else int(s) for s in row.output_shape],
                "layout": row.layout,
                "receptive_field": list(row.receptive_field) if row.receptive_field else None,
            }
            for row in rows
        ],
    }


def _done_renders(out: Path) -> set:
    """``(layer, channel, recipe)`` of the renders already done in ``out`` (read-only)."""
    from .state import _read_only_connection

    path = database_path(out)
    if not path.exists():
        return set()
    connection = _read_only_connection(path)
    try:
        return set(
            connection.execute(
                "SELECT u.layer, u.channel, r.recipe FROM renders r JOIN units u ON u.id = r.unit_id "
                "WHERE r.status = 'done'"
            )
        )
    finally:
        connection.close()


def _plan_estimate(network, out: Path, pairs, params, example_layers, examples: dict, workers, replace):
    done = set() if replace else _done_renders(out)
    fields = {row.name: row.receptive_field or (input_size(network),) * 2 for row in layer_rows(network)}
    left = [(recipe, fields[u.layer]) for u, recipe in pairs if (u.layer, u.channel, recipe) not in done]
    units = [unit for unit, _ in pairs]
    deepest = max(units, key=lambda u: u.layer_index).layer
    module = layer_module(network, deepest)[0]  # a token layer too (the doors refuse those)
    seconds = time_pass(module, network.input_channels, input_size(network))
    images = examples.get("count", 0) if example_layers and examples.get("kind") != NONE else 0
    layers = len({u.layer for u in units})
    return estimate(seconds, left, params, input_size(network), images, layers, workers)


def plan_atlas(
    model: Any,
    out: Any,
    *,
    layers: Union[None, str, Sequence[str]] = "all",
    channels: Any = "all",
    recipe: Union[str, Sequence[str]] = "matlab",
    params: Optional[Mapping[str, Any]] = None,
    examples: Any = None,
    engine: str = "local",
    workers: Optional[int] = None,
    ray_address: Optional[str] = None,
    batch: int = 8,
    shard: Optional[str] = None,
    seed: int = 0,
    new: bool = False,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> AtlasPlan:
    """Check every argument (nothing is written); raises :class:`AtlasInputError` on the first bad one.

    ``layers``: ``'all'``, comma-separated names or a list; ``channels``: ``'all'``, a
    MATLAB-style list (``'1:8'``) or integers (1-based); ``recipe``: a name, comma-separated
    names or a list (each unit is rendered with each); ``params``: recipe parameters (a key
    applies to every chosen recipe that takes it; ``{"lucid": {...}}`` for one recipe only);
    ``examples``: ``None`` (the bundled photographs), a folder of images, or ``False`` (none).
    """
    if engine not in ENGINES:
        raise AtlasInputError(f"expected one of {', '.join(ENGINES)}; got {engine!r}", "engine")
    _positive("batch", batch)
    if workers is not None:
        _positive("workers", workers)
    _positive("max_attempts", max_attempts)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise AtlasInputError(f"expected an integer in 0..2^32-1; got {seed!r}", "seed")
    if not isinstance(new, bool):
        raise AtlasInputError(f"expected True or False; got {new!r}", "new")
    if ray_address is not None and engine != "ray":
        raise AtlasInputError("only meaningful with the ray engine", "ray_address")
    if params is not None and not isinstance(params, Mapping):
        raise AtlasInputError(f"expected a mapping of recipe parameters; got {params!r}", "params")
    names = recipe_names(recipe)
    recipe_params = recipe_parameters(names, params)
    if any(name == "maco" or values.get("param") == "maco" for name, values in recipe_params.items()):
        try:
            require("skimage", "the MACO parametrisation (natural image statistics)", "atlas")
        except DeepDreamError as missing:
            raise AtlasInputError(missing.message, "recipe") from None
    shard_spec = parse_shard(shard)
    channel_list = parse_channel_spec(channels)
    check_out_folder(out, model)
    out = Path(out).expanduser().resolve()
    try:
        model_path = check_onnx_path(os.path.expanduser(model if model is not None else ""), "MODEL").resolve()
    except DeepDreamError as exc:
        raise AtlasInputError(str(exc).removeprefix("MODEL: "), "model") from None
    try:
        network = load_network(str(model_path))
    except Exception as exc:  # any loader failure is a bad MODEL argument
        raise AtlasInputError(
            f"cannot load {str(model)!r} as an ONNX network ({' '.join(str(exc).split())})", "model"
        ) from None
    source, _ = _examples_source(examples, network)
    record = JobRecord(
        model_path=str(model_path),
        model_sha256=file_sha256(model_path),
        seed=seed,
        package_version=PACKAGE_VERSION,
        network=_network_facts(network),
        examples=source,
        recipes=recipe_params,
    )
    existing = read_existing_job(out, allow_old=new)
    if existing is not None and not new:
        differences = existing.differences(record)
        if differences:
            raise AtlasInputError(
                f"{str(out)!r} holds another atlas: {'; '.join(differences)}; pass --new to replace it", "out"
            )
    if existing is not None and not new and existing.examples.get("kind") != NONE and source["kind"] != NONE:
        record = JobRecord(**{**record.__dict__, "examples": existing.examples})  # the recorded chunking
    selected = select_units(layer_rows(network), layers, channel_list, shard_spec)
    pairs, left_out = recipe_pairs(selected, names, layer_rows(network), named=layer_names(layers) is not None)
    outputs = {row.name: row.output for row in layer_rows(network)}
    example_layers = (
        [] if source["kind"] == NONE else [(name, outputs[name]) for name in dict.fromkeys(u.layer for u, _ in pairs)]
    )
    if engine == "ray":
        from .engines.ray_engine import check_address, import_ray

        import_ray()
        if ray_address:
            check_address(ray_address)
    worker_count = workers or (len(default_devices(None)) if engine == "local" else 2)
    plan = AtlasPlan(out, record, pairs, names, example_layers, new, engine, workers, ray_address, batch, max_attempts,
                     left_out=left_out)  # fmt: skip
    plan.estimate = _plan_estimate(network, out, pairs, recipe_params, example_layers, source, worker_count, new)
    return plan


def make_engine(plan: AtlasPlan):

    spec = WorkerSpec(plan.record.model_path, plan.record.recipes, plan.record.seed)
    if plan.engine == "ray":
        from .engines.ray_engine import RayEngine

        return RayEngine(spec, plan.workers, plan.ray_address)

    return LocalEngine(spec, plan.workers)


def image_path(layer_index: int, layer: str, recipe: str, channel: int) -> str:
    """Where a render's image lives, relative to the atlas folder."""
    return f"images/{layer_slug(layer_index, layer)}/{recipe}/unit_{channel:04d}.png"


def _store(state: AtlasState, out: Path, result) -> int:
    """Put a task's results in place, then mark its work done; returns the renders marked."""
    if isinstance(result, ExampleResult):
        summary = result.summary
        state.mark_examples_done(
            result.task.work_ids,
            result.task.chunk,
            summary.layers,
            worker=result.worker,
            seconds=result.seconds,
            read=summary.read,
            unreadable=summary.unreadable,
            converted=summary.converted_from_grey,
            network_seconds=summary.network_seconds,
        )
        return 0
    marked = 0
    task = result.task
    for unit in result.units:
        relative = image_path(task.layer_index, task.layer, task.recipe, unit.channel)
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, lambda handle, data=unit.png: handle.write(data))
        marked += state.mark_render_done(
            unit.render_id,
            worker=result.worker,
            seconds=unit.seconds,
            activation=unit.activation,
            dead=unit.dead,
            image_path=relative,
            image_sha256=unit.sha256,
            curve=unit.curve,
            options=unit.options,
        )
    return marked


def _example_items(plan: AtlasPlan):
    source = plan.record.examples
    if source["kind"] == FOLDER:
        return folder_items(Path(source["path"]))
    return iter(skimage_items(plan.record.network["input_size"]))


def _claim(state: AtlasState, plan: AtlasPlan, label: str, examples_in_flight: bool):
    """The next task for worker ``label``: an examples chunk when none is in flight, else a batch of renders."""
    source = plan.record.examples
    if not examples_in_flight and plan.example_layers:
        claim = state.claim_examples(label, plan.max_attempts)
        if claim is not None:
            chunk = source["chunk"]
            items = tuple(ExampleItem(n, s, b) for n, s, b in state.example_items(claim.chunk * chunk, chunk))
            return ExampleTask(
                claim.chunk, claim.work_ids, claim.layers, claim.outputs, source.get("path"), items, plan.example_batch
            )
    claim = state.claim_renders(plan.batch, label, plan.max_attempts)
    if claim is not None:
        return RenderTask(claim.layer, claim.layer_index, claim.recipe, claim.channels, claim.render_ids)
    if examples_in_flight and plan.example_layers:
        return _claim(state, plan, label, False)
    return None


def execute(plan: AtlasPlan, *, progress: bool = True, gallery: bool = True, engine=None) -> AtlasSummary:
    """Record the job, do every selected render and examples chunk not yet done, build the gallery.

    SIGTERM is handled as SIGINT: claims are handed back, the gallery is still brought up to
    date, and the interrupt (a ``KeyboardInterrupt``; ``Terminated`` for SIGTERM/SIGHUP) is raised
    again at the end.
    """
    if gallery:
        try:
            require_jinja2()
        except DeepDreamError as missing:  # before anything is written
            raise AtlasInputError(f"{missing.message} (or build no gallery: --no-gallery, gallery=False)") from None
    plan.out.mkdir(parents=True, exist_ok=True)
    if plan.new:
        remove_gallery(plan.out)  # the replaced atlas's pages and images
    state = AtlasState(plan.out, replace_old=plan.new)
    engine = engine or make_engine(plan)
    started = time.perf_counter()
    rendered = 0
    interrupted: Optional[KeyboardInterrupt] = None
    try:
        with terminate_as_interrupt():
            try:
                state.start_job(plan.record, replace=plan.new)
                state.add_renders(plan.pairs)
                state.drop_unfinished(plan.left_out_layers())  # an older atlas's renders of them could only fail
                if plan.example_layers:
                    count = state.add_example_items(_example_items(plan))
                    state.add_example_work(plan.example_layers, math.ceil(count / plan.record.examples["chunk"]))
                total = state.select(plan.pairs, [name for name, _ in plan.example_layers])
                state.recover_abandoned()
                rendered = _run(state, plan, engine, total, progress, started)
            except KeyboardInterrupt as interrupt:  # Ctrl-C, or SIGTERM/SIGHUP (doors.signals.Terminated)
                interrupted = interrupt
                engine.close()
                state.release_all()
        summary = summarize(state, plan.out, rendered, time.perf_counter() - started)
    finally:
        state.close()
    if gallery:
        with deferred_interrupts(say):
            build_gallery(plan.out)
    if interrupted is not None:
        raise interrupted
    return summary


def _run(state: AtlasState, plan: AtlasPlan, engine, total: int, progress: bool, started: float) -> int:
    rendered = 0
    done_before = state.counts().get("done", 0)
    bar = tqdm(
        total=total, initial=done_before, desc="atlas", unit="render", file=sys.stderr, disable=not progress,
        dynamic_ncols=True,
    )  # fmt: skip
    try:
        if state.claimable(plan.max_attempts):
            engine.start()
        examples_busy: set[str] = set()
        while (
            state.claimable(plan.max_attempts)
            or engine.in_flight()
            or (engine.starting() and state.claimable(plan.max_attempts))
        ):
            state.heartbeat()
            for label in engine.idle_workers():
                task = _claim(state, plan, label, bool(examples_busy))
                if task is None:
                    break
                if isinstance(task, ExampleTask):
                    examples_busy.add(label)
                engine.submit(label, task)
            if engine.in_flight() == 0 and engine.starting() == 0:
                break  # what is left is held by another process
            for outcome in engine.wait(timeout=1.0):
                examples_busy.discard(outcome.worker)
                table = "example_work" if isinstance(outcome.task, ExampleTask) else "renders"
                if isinstance(outcome.result, Refusal):  # deterministic: trying again would be refused again
                    state.mark_failed(table, outcome.task.ids, outcome.result.message, refused=True)
                    bar.write(f"atlas: {outcome.task.describe()} refused: {outcome.result.message}", file=sys.stderr)
                elif outcome.result is not None:
                    count = _store(state, plan.out, outcome.result)
                    rendered += count
                    bar.update(count)
                    minutes = (time.perf_counter() - started) / 60
                    counts = state.example_counts()
                    examples = f", examples {counts.get('done', 0)}/{sum(counts.values())}" if counts else ""
                    bar.set_postfix_str(f"{rendered / minutes:.1f} renders/min{examples}", refresh=False)
                else:
                    state.mark_failed(table, outcome.task.ids, outcome.error or "unknown error")
                    bar.write(
                        f"atlas: {outcome.task.describe()} failed: {(outcome.error or '').splitlines()[0]}",
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
    return rendered


def wall_seconds(intervals: Sequence[tuple[float, float]]) -> float:
    """The length of the union of ``(start, end)`` intervals (work of several workers at once counts once).

    Example:
        >>> wall_seconds([(0.0, 10.0), (5.0, 12.0), (20.0, 21.0)])
        13.0
    """
    total, reach = 0.0, -math.inf
    for start, end in sorted(intervals):
        if end <= reach:
            continue
        total += end - max(start, reach)
        reach = end
    return total


def summarize(state: AtlasState, out: Path, rendered: int, seconds: float) -> AtlasSummary:
    layers: dict[tuple[str, str], LayerSummary] = {}
    intervals = defaultdict(list)
    for row in state.render_rows("r.id IN (SELECT id FROM temp.selected_renders)"):
        key = (row["layer"], row["recipe"])
        entry = layers.setdefault(key, LayerSummary(*key))
        entry.total += 1
        if row["status"] == "done":
            entry.done += 1
            entry.dead += bool(row["dead"])
            if row["activation"] is not None:
                entry.activation_sum += row["activation"]
                entry.activations += 1
            if row["started"] and row["finished"]:
                intervals[key].append((row["started"], row["finished"]))
        elif row["status"] == "failed":
            entry.failed += 1
    for key, entry in layers.items():
        entry.seconds = wall_seconds(intervals[key])
    counts = state.example_counts()
    chunks = state._db.execute("SELECT COALESCE(SUM(read), 0), COALESCE(SUM(unreadable), 0), "
                               "COALESCE(SUM(converted), 0) FROM example_chunks").fetchone()  # fmt: skip
    return AtlasSummary(
        out,
        sum(entry.total for entry in layers.values()),
        sum(entry.done for entry in layers.values()),
        sum(entry.failed for entry in layers.values()),
        rendered,
        seconds,
        list(layers.values()),
        examples_scored=int(chunks[0]),
        examples_unreadable=int(chunks[1]),
        examples_converted=int(chunks[2]),
        examples_chunks=(counts.get("done", 0), sum(counts.values())),
    )


def run_atlas(
    model: Any, out: Any, *, progress: bool = False, gallery: bool = True, yes: bool = False, **options: Any
) -> AtlasSummary:
    """Render (or resume) the atlas of ``model`` into ``out``; the options are :func:`plan_atlas`'s.

    A large atlas (more than :data:`~.estimate.CONFIRM_RENDERS` renders left, or more than
    an hour by the estimate) starts only with ``yes=True``. With ``progress``, the layers a
    recipe cannot take (:attr:`AtlasPlan.left_out`) are said first, as the command line does.
    """
    plan = plan_atlas(model, out, **options)
    if progress:
        for left_out in plan.left_out:
            print(f"atlas: {left_out.line()}", flush=True)
    if plan.estimate is not None and plan.estimate.large and not yes:
        raise AtlasInputError(f"this atlas is large: {plan.estimate.line()}; pass yes=True to start it", "yes")
    return execute(plan, progress=progress, gallery=gallery)

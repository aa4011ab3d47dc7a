"""Atlas throughput: renders per minute (one unit at a time, ``--batch 8``, 2 local workers, Ray), and dataset examples.

``python -m benchmarks.atlas_bench [--units N] [--json PATH]``. EfficientNet-Lite0,
layer ``_blocks/10/Add``, 2 pyramid levels × 5 iterations (the demo's settings),
each configuration a fresh atlas folder and fresh workers, all in one run so the
ratios share the machine's conditions. Renders per minute are wall-clock over the
whole job (worker start-up included, no dataset examples); the workers' own render
seconds are reported beside them.

``python -m benchmarks.atlas_bench --unit-passes``: the cost of per-unit passes (each unit its own stream and
network passes, as the atlas renders) against one batch of 8 units, alternately timed, one thread.

``python -m benchmarks.atlas_bench --examples N [--memory 1000,10000] [--json PATH]``: dataset
examples from a folder of N generated JPEGs (200–400 px, cached under ``.cache/``), layer
``_conv_head/Conv`` (1,280 units), 2 local workers of one thread: example images scored per
second (the examples work's wall-clock time, decoding and top-k included) against a bare
batched forward pass over the same images, already decoded, on the same resources (one thread,
times the workers: a 2-thread pass is slower than two 1-thread ones on a shared machine);
then, for each folder size of ``--memory``, a fresh process runs the whole atlas and reports the
peak RSS of the coordinator and of the largest worker (``getrusage``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "efficientnet_lite0.onnx"
LAYER = "_blocks/10/Add"
PARAMS = {"levels": 2, "iterations": 5}
TARGETS = {"batch8_vs_one_at_a_time": (">=", 1.5), "ray_vs_local_time": ("<=", 1.15)}


def measure(name: str, units: int, *, batch: int, workers: int, engine: str) -> dict:
    from deepdreamport.atlas import run_atlas

    with tempfile.TemporaryDirectory(prefix="atlas-bench-") as folder:
        started = time.perf_counter()
        summary = run_atlas(
            MODEL,
            folder,
            layers=LAYER,
            channels=f"1:{units}",
            params=PARAMS,
            batch=batch,
            workers=workers,
            engine=engine,
            gallery=False,
            examples=False,
        )
        wall = time.perf_counter() - started
        connection = sqlite3.connect(Path(folder) / "atlas.sqlite")
        busy = connection.execute("SELECT SUM(seconds) FROM renders").fetchone()[0]
        connection.close()
    assert summary.done == units, summary.table()
    result = {
        "config": name,
        "units": units,
        "batch": batch,
        "workers": workers,
        "engine": engine,
        "wall_s": round(wall, 2),
        "units_per_minute": round(60 * units / wall, 3),
        "render_seconds_in_workers": round(busy, 1),
    }
    print(json.dumps(result), flush=True)
    return result


EXAMPLES_LAYER = "_conv_head/Conv"
EXAMPLES_CACHE = REPO / ".cache" / "atlas-bench-examples"
EXAMPLES_TARGET = (">=", 0.8)


def example_folder(count: int) -> Path:
    """``count`` JPEGs of 200–400 px (smooth random content, so decoding costs what photographs cost), made once."""
    import numpy as np
    from PIL import Image

    folder = EXAMPLES_CACHE / str(count)
    done = folder / ".complete"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(count)
    for index in range(count):
        height, width = (int(v) for v in rng.integers(200, 401, size=2))
        coarse = Image.fromarray((rng.random((height // 16 + 1, width // 16 + 1, 3)) * 255).astype(np.uint8))
        image = coarse.resize((width, height), Image.BICUBIC)
        image.save(folder / f"img_{index:05d}.jpg", quality=90)
    done.write_text(str(count))
    return folder


def bare_forward(folder: Path, count: int, batch: int, threads: int) -> dict:
    """Images per second of the truncated network alone over ``count`` of the folder's images, decoded beforehand,
    with ``threads`` threads."""
    import numpy as np
    import torch

    from deepdreamport.atlas._package import layer_rows, load_network, outputs_module
    from deepdreamport.atlas.examples.sources import folder_items, load_item
    from deepdreamport.atlas.recipes import optvis_view

    network = load_network(str(MODEL))
    output = next(row.output for row in layer_rows(network) if row.name == EXAMPLES_LAYER)
    module = outputs_module(network, [output]).float().eval()
    preprocess = optvis_view(network).preprocess
    items = list(folder_items(folder))[:count]
    pixels = np.stack([load_item(str(folder), item, 224, 3).pixels for item in items])
    tensors = [preprocess(torch.from_numpy(pixels[s : s + batch]).permute(0, 3, 1, 2).float() / 255.0)
               for s in range(0, count, batch)]  # fmt: skip
    torch.set_num_threads(threads)
    with torch.no_grad():
        module(tensors[0])  # warm-up
        started = time.perf_counter()
        for tensor in tensors:
            output = module(tensor)
            output.reshape(output.shape[0], output.shape[1], -1).max(dim=2)
        seconds = time.perf_counter() - started
    return {"images": count, "seconds": round(seconds, 2), "images_per_second": round(count / seconds, 2),
            "threads": torch.get_num_threads(), "batch": batch}  # fmt: skip


def examples_run(folder: Path, workers: int = 2) -> dict:
    """A whole atlas (one unit rendered, all 1,280 units' examples) over ``folder``; in this process."""
    import resource
    import sqlite3

    from deepdreamport.atlas import run_atlas
    from deepdreamport.atlas.job import wall_seconds

    with tempfile.TemporaryDirectory(prefix="atlas-bench-") as out:
        started = time.perf_counter()
        summary = run_atlas(
            MODEL, out, layers=EXAMPLES_LAYER, channels="1", params={"levels": 1, "iterations": 1}, workers=workers,
            examples=folder, gallery=False,
        )  # fmt: skip
        wall = time.perf_counter() - started
        connection = sqlite3.connect(Path(out) / "atlas.sqlite")
        intervals = connection.execute("SELECT started, finished FROM example_work").fetchall()
        batch_rows = connection.execute("SELECT COUNT(*) FROM example_work").fetchone()[0]
        chunk_s, network_s = connection.execute(
            "SELECT SUM(seconds), SUM(network_seconds) FROM example_chunks"
        ).fetchone()
        connection.close()
    examples_wall = wall_seconds(intervals)
    return {
        "images": summary.examples_scored,
        "chunks": batch_rows,
        "workers": workers,
        "job_wall_s": round(wall, 2),
        "examples_wall_s": round(examples_wall, 2),
        "images_per_second": round(summary.examples_scored / examples_wall, 2),
        "chunk_seconds_in_workers": round(chunk_s, 2),
        "network_seconds_in_workers": round(network_s, 2),
        "network_share": round(network_s / chunk_s, 3),
        "peak_rss_coordinator_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_largest_worker_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def _examples_run_in_a_fresh_process(count: int) -> dict:
    import subprocess
    import sys

    folder = example_folder(count)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.atlas_bench", "--examples-run", str(folder)], cwd=REPO, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def bare_forward_in_workers(folder: Path, count: int, workers: int) -> dict:
    """``workers`` processes at once, one thread each (as the atlas's workers), each a bare forward over ``count``
    images: their images per second together."""
    import subprocess
    import sys

    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "benchmarks.atlas_bench", "--bare-run", str(folder), str(count)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for _ in range(workers)
    ]
    runs = [json.loads(process.communicate()[0].strip().splitlines()[-1]) for process in processes]
    seconds = max(run["seconds"] for run in runs)
    images = sum(run["images"] for run in runs)
    return {"processes": workers, "images": images, "seconds": seconds, "images_per_second": round(images / seconds, 2)}


def examples_benchmark(count: int, memory: list[int], workers: int = 2) -> dict:
    """The atlas's examples pass between two bare passes on the same resources (the machine's load drifts)."""
    folder = example_folder(count)
    bare_count = min(count, 64)
    before = bare_forward_in_workers(folder, bare_count, workers)
    print(json.dumps({"bare_before": before}), flush=True)
    atlas = _examples_run_in_a_fresh_process(count)
    print(json.dumps({"atlas_examples": atlas}), flush=True)
    after = bare_forward_in_workers(folder, bare_count, workers)
    print(json.dumps({"bare_after": after}), flush=True)
    bare = (before["images_per_second"] + after["images_per_second"]) / 2
    report = {
        "layer": EXAMPLES_LAYER,
        "throughput": {
            "atlas": atlas,
            "bare_before": before,
            "bare_after": after,
            "ratio": round(atlas["images_per_second"] / bare, 3),
            # inside the workers, under the very same load: time in the network / whole chunk time
            "ratio_in_workers": atlas["network_share"],
            "target": f"{EXAMPLES_TARGET[0]} {EXAMPLES_TARGET[1]}",
        },
        "memory": [],
    }
    for size in memory:
        run = atlas if size == count else _examples_run_in_a_fresh_process(size)
        report["memory"].append({"folder_images": size, **run})
        print(json.dumps({"memory": report["memory"][-1]}), flush=True)
    return report


def unit_passes(units: int = 8, pairs: int = 3) -> dict:
    """What per-unit passes cost against one batch: K units of the matlab recipe rendered one at a time (each its
    own stream, as the atlas does) vs in one ``deep_dream_image`` call (one shared stream, the old atlas), timed
    alternately, one thread as a worker computes."""
    import statistics

    import torch

    from deepdreamport.atlas._package import deep_dream_image, load_network

    torch.set_num_threads(1)
    network = load_network(str(MODEL))
    options = dict(num_iterations=PARAMS["iterations"], pyramid_levels=PARAMS["levels"], output_scaling="none",
                   device="cpu")  # fmt: skip
    deep_dream_image(network, LAYER, [0], **options, random_state=1)  # warm-up: conversion, layout choice
    one, batch = [], []
    for _ in range(pairs):
        started = time.perf_counter()
        for channel in range(units):
            deep_dream_image(network, LAYER, [channel], **options, random_state=channel + 1)
        one.append(time.perf_counter() - started)
        started = time.perf_counter()
        deep_dream_image(network, LAYER, list(range(units)), **options, random_state=1)
        batch.append(time.perf_counter() - started)
    ratio = statistics.median(o / b for o, b in zip(one, batch))
    return {"units": units, "pairs": pairs, "one_at_a_time_s": [round(v, 2) for v in one],
            "one_batch_s": [round(v, 2) for v in batch], "per_unit_over_batch_median": round(ratio, 3)}  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=8, help="units per worker (default 8)")
    parser.add_argument("--examples", type=int, help="measure dataset examples over a folder of this many images")
    parser.add_argument("--memory", default="", help="folder sizes for the peak-RSS figure, e.g. 1000,10000")
    parser.add_argument("--examples-run", type=Path, help=argparse.SUPPRESS)  # one measured run, in a fresh process
    parser.add_argument("--unit-passes", action="store_true", help="per-unit passes vs one batch (matlab recipe)")
    parser.add_argument("--bare-run", nargs=2, help=argparse.SUPPRESS)  # FOLDER COUNT: one bare pass, one thread
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.examples_run:
        print(json.dumps(examples_run(args.examples_run)))
        return 0
    if args.bare_run:
        print(json.dumps(bare_forward(Path(args.bare_run[0]), int(args.bare_run[1]), batch=8, threads=1)))
        return 0
    print(f"# {platform.node()} {os.cpu_count()} CPUs, load average at start {os.getloadavg()}", flush=True)
    if args.unit_passes:
        report = {**unit_passes(), "load_average_at_end": os.getloadavg()}
        print(json.dumps(report, indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        return 0
    if args.examples:
        report = examples_benchmark(args.examples, [int(v) for v in args.memory.split(",") if v])
        report["load_average_at_end"] = os.getloadavg()
        print(json.dumps(report, indent=2))
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
        return 0
    n = args.units
    runs = [
        measure("one unit at a time (1 worker)", n, batch=1, workers=1, engine="local"),
        measure("--batch 8 (1 worker)", n, batch=8, workers=1, engine="local"),
        measure("local engine, 2 workers, --batch 8", 2 * n, batch=8, workers=2, engine="local"),
        measure("Ray engine (local instance), 2 workers, --batch 8", 2 * n, batch=8, workers=2, engine="ray"),
    ]
    ratios = {
        "batch8_vs_one_at_a_time": runs[1]["units_per_minute"] / runs[0]["units_per_minute"],
        "ray_vs_local_time": runs[2]["units_per_minute"] / runs[3]["units_per_minute"],
    }
    report = {
        "runs": runs,
        "ratios": {k: round(v, 3) for k, v in ratios.items()},
        "targets": {k: f"{op} {value}" for k, (op, value) in TARGETS.items()},
        "load_average_at_end": os.getloadavg(),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

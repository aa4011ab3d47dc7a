"""Atlas throughput: units per minute for one unit at a time, ``--batch 8``, 2 local workers, Ray with 2 workers.

``python -m benchmarks.atlas_bench [--units N] [--json PATH]``. EfficientNet-Lite0,
layer ``_blocks/10/Add``, 2 pyramid levels × 5 iterations (the demo's settings),
each configuration a fresh atlas folder and fresh workers, all in one run so the
ratios share the machine's conditions. Units per minute are wall-clock over the
whole job (worker start-up and the per-layer dataset-example scoring included);
the workers' own render seconds are reported beside them.
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
        )
        wall = time.perf_counter() - started
        connection = sqlite3.connect(Path(folder) / "atlas.sqlite")
        busy = connection.execute("SELECT SUM(finished - started) FROM units").fetchone()[0]
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
        "unit_seconds_claimed_to_done": round(busy, 1),
    }
    print(json.dumps(result), flush=True)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=8, help="units per worker (default 8)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    n = args.units
    print(f"# {platform.node()} {os.cpu_count()} CPUs, load average at start {os.getloadavg()}", flush=True)
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

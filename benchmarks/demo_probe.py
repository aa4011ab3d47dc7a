"""Figure 7: ``deepdream demo`` wall time / the time of its dream loop alone (each in a fresh process).

``python -m benchmarks.demo_probe [--device D] [--model M --layer L] [--quick]`` prints one JSON line.
Each repeat runs the demo command (``python -m deepdreamport demo``, timed from here, so
interpreter start, imports, loading, conversion and writing the PNG are all in it), then a
fresh process that does the demo's steps one at a time and times each (``--breakdown``):
``import torch``, ``import onnx2torch``, the rest of the demo's imports (its handler module),
``load_network`` (read + ONNX fix-up passes), ``truncated`` (extract, shape inference,
onnx2torch conversion, the probe pass), the dream loop (``deep_dream_image`` with the demo's
arguments: the same cold first loop the demo runs) and writing the montage PNG. The
interpreter's own start-up is the median of ``python -c pass``.

``floor`` = (start-up + ``import torch`` + ``import onnx2torch`` + loop) / loop: what figure 7 (whose
wall time contains the loop) cannot go below while the command imports torch and onnx2torch
(which imports torchvision) at all; ``import_overhead`` is that floor less 1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # not from .common, which imports torch: the breakdown times that import
DEMO_CHANNELS = [0, 1, 2, 3]  # the demo's 1:4
DEMO_LEVELS, DEMO_ITERATIONS = 2, 5
STEPS = ("import_torch", "import_onnx2torch", "import_rest", "load", "convert", "loop", "write")


def breakdown(model: str, layer: str, device: str) -> dict:
    """Seconds of each step of the demo, in this (fresh) process, which must not have imported torch yet."""
    if "torch" in sys.modules:
        raise RuntimeError("the breakdown must run in a process that has not imported torch")
    stamps = [time.perf_counter()]
    import torch

    stamps.append(time.perf_counter())
    import onnx2torch  # noqa: F401  (imported by the conversion; timed on its own here)

    stamps.append(time.perf_counter())
    from deepdreamport._lazy import load
    from deepdreamport.doors.commands import HANDLERS

    load(HANDLERS["demo"])  # the rest of what the demo's handler imports
    from deepdreamport import deep_dream_image, load_network
    from deepdreamport.doors.files import montage
    from deepdreamport.doors.run import resolve_device

    stamps.append(time.perf_counter())
    network = load_network(model)
    stamps.append(time.perf_counter())
    network.truncated(layer)
    stamps.append(time.perf_counter())
    images = deep_dream_image(
        network,
        layer,
        DEMO_CHANNELS,
        num_iterations=DEMO_ITERATIONS,
        pyramid_levels=DEMO_LEVELS,
        device=device,
        random_state=0,
    )
    if resolve_device(device).type == "cuda":
        torch.cuda.synchronize()
    stamps.append(time.perf_counter())
    with tempfile.TemporaryDirectory() as folder:
        montage(images, [f"{layer} ch {c + 1}" for c in DEMO_CHANNELS]).save(Path(folder) / "demo.png", format="PNG")
    stamps.append(time.perf_counter())
    return {f"{step}_s": stamps[i + 1] - stamps[i] for i, step in enumerate(STEPS)}


def python_startup_s(repeats: int) -> float:
    """Median wall time of ``python -c pass`` (the interpreter and site start-up)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=None, help="default: the demo's model")
    parser.add_argument("--layer", default=None, help="default: the demo's layer")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--breakdown", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.breakdown:
        print(json.dumps(breakdown(args.model, args.layer, args.device)))
        return 0
    from deepdreamport.doors.commands import DEMO_LAYER
    from deepdreamport.doors.files import default_model

    model = args.model or str(default_model())
    layer = args.layer or DEMO_LAYER
    repeats = 1 if args.quick else args.repeats
    walls, parts = [], []
    with tempfile.TemporaryDirectory() as folder:
        demo = [
            sys.executable,
            "-m",
            "deepdreamport",
            "demo",
            "--device",
            args.device,
            "--out",
            str(Path(folder) / "demo.png"),
        ]
        demo += ["--model", model, "--layer", layer]
        probe = [sys.executable, "-m", "benchmarks.demo_probe", "--breakdown", "--model", model, "--layer", layer]
        probe += ["--device", args.device]
        for _ in range(repeats):  # alternately, so load drifts hit both alike
            start = time.perf_counter()
            subprocess.run(demo, cwd=REPO, check=True, capture_output=True)
            walls.append(time.perf_counter() - start)
            done = subprocess.run(probe, cwd=REPO, check=True, capture_output=True, text=True)
            parts.append(json.loads(done.stdout.strip().splitlines()[-1]))
    steps = {key: statistics.median(p[key] for p in parts) for key in parts[0]}
    steps = {"python_s": python_startup_s(3 * repeats), **steps}
    wall, loop = statistics.median(walls), steps["loop_s"]
    overhead = (steps["python_s"] + steps["import_torch_s"] + steps["import_onnx2torch_s"]) / loop
    result = {"device": args.device, "demo_wall_s": wall, "loop_s": loop, "ratio": wall / loop}
    result |= {"floor": 1 + overhead, "import_overhead": overhead}
    result["repeats"] = {"demo_wall_s": walls, "loop_s": [p["loop_s"] for p in parts]}  # the spread (load noise)
    fastest = {key: min(p[key] for p in parts) for key in parts[0]}  # robust to other load on a shared machine
    print(json.dumps({**result, "breakdown": steps, "breakdown_fastest": fastest}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

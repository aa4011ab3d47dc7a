"""Figure 7: ``deepdream demo`` wall time / the time of its dream loop alone (each in a fresh process).

``python -m benchmarks.demo_probe [--device D] [--model M --layer L] [--quick]`` prints one JSON line.
Each repeat runs the demo command (``python -m deepdreamport demo``, timed from here, so
interpreter start, imports, loading, conversion and writing the PNG are all in it) and then a
fresh process that imports and loads first, then times only ``deep_dream_image`` with the
demo's arguments (``--loop-only``): the same cold first loop the demo runs.
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

from .common import REPO

DEMO_CHANNELS = [0, 1, 2, 3]  # the demo's 1:4
DEMO_LEVELS, DEMO_ITERATIONS = 2, 5


def loop_only(model: str, layer: str, device: str) -> float:
    import torch

    from deepdreamport import deep_dream_image, load_network
    from deepdreamport.doors.run import resolve_device

    network = load_network(model)
    network.truncated(layer)
    start = time.perf_counter()
    deep_dream_image(
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
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=None, help="default: the demo's model")
    parser.add_argument("--layer", default=None, help="default: the demo's layer")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--loop-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.loop_only:
        print(json.dumps({"loop_s": loop_only(args.model, args.layer, args.device)}))
        return 0
    from deepdreamport.doors.commands import DEMO_LAYER
    from deepdreamport.doors.files import default_model

    model = args.model or str(default_model())
    layer = args.layer or DEMO_LAYER
    repeats = 1 if args.quick else args.repeats
    walls, loops = [], []
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
        probe = [sys.executable, "-m", "benchmarks.demo_probe", "--loop-only", "--model", model, "--layer", layer]
        probe += ["--device", args.device]
        for _ in range(repeats):  # alternately, so load drifts hit both alike
            start = time.perf_counter()
            subprocess.run(demo, cwd=REPO, check=True, capture_output=True)
            walls.append(time.perf_counter() - start)
            done = subprocess.run(probe, cwd=REPO, check=True, capture_output=True, text=True)
            loops.append(json.loads(done.stdout.strip().splitlines()[-1])["loop_s"])
    wall, loop = statistics.median(walls), statistics.median(loops)
    print(json.dumps({"device": args.device, "demo_wall_s": wall, "loop_s": loop, "ratio": wall / loop}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How close render's memory guard is to the real peak: one render per case, each in a fresh process.

``python -m benchmarks.render_guard_accuracy MODEL LAYER:CHANNEL --sizes 1000,2000 --k 1 --param fft``
prints, per image size, the guard's estimate (:mod:`deepdreamport.optvis.guard`, the
0-based channel of the Python API) and the growth of the peak resident memory
(VmHWM) during a 2-step render, after a warm-up render has loaded the network
and torch's kernels. Linux only (``/proc``); float32 on the CPU, one thread.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import torch

from .guard_accuracy import accuracy_row, peak_growth_mib


def measure(model: str, unit: str, size: int, k: int, param: str, optimizer: str) -> dict:
    """One case in this process: the guard's estimate and the measured growth of the peak RSS (MiB)."""
    from deepdreamport.optvis.gradient_free import render_gradient_free
    from deepdreamport.optvis.guard import check_render_memory, forward_per_pixel, gradient_per_pixel
    from deepdreamport.optvis.network import OptvisNetwork
    from deepdreamport.optvis.rendering import render

    network = OptvisNetwork.from_onnx(model)
    layer, _, channel = unit.rpartition(":")
    objective = ",".join([unit] * k) if k > 1 else unit
    gradient_free = optimizer in ("cmaes", "ga")
    population = 16
    if gradient_free:
        render_gradient_free(network, objective, optimizer=optimizer, size=16, generations=1)  # warm-up
        per_pixel = forward_per_pixel(network, [(layer, int(channel))], size, "none")
        images = k * population
    else:
        render(network, objective, size=16, steps=1, param=param)  # warm-up
        options = dict(param=param, device=torch.device("cpu"), dtype=torch.float32)
        per_pixel = gradient_per_pixel(network, [(layer, int(channel))], size, options)
        images = k
    estimate = check_render_memory(per_pixel, images, size, torch.float32, torch.device("cpu"), "", limit=2**62)
    if gradient_free:
        growth = peak_growth_mib(
            lambda: render_gradient_free(
                network, objective, optimizer=optimizer, size=size, generations=2, population=population
            )
        )
    else:
        growth = peak_growth_mib(lambda: render(network, objective, size=size, steps=2, param=param))
    return accuracy_row(estimate.peak_bytes, growth, size=size, k=k, param=param, optimizer=optimizer)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("unit", help="LAYER:CHANNEL, 0-based channel (the Python API)")
    parser.add_argument("--sizes", default="1000,2000")
    parser.add_argument("--k", type=int, default=1)
    parser.add_argument("--param", default="fft")
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # the child process: one size
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.one:
        print(json.dumps(measure(args.model, args.unit, args.one, args.k, args.param, args.optimizer)))
        return 0
    for size in [int(s) for s in args.sizes.split(",")]:
        child = [sys.executable, "-m", "benchmarks.render_guard_accuracy", args.model, args.unit, "--one", str(size)]
        child += ["--k", str(args.k), "--param", args.param, "--optimizer", args.optimizer]
        done = subprocess.run(child, capture_output=True, text=True)
        print(done.stdout.strip() or done.stderr[-2000:])
    return 0


if __name__ == "__main__":
    sys.exit(main())

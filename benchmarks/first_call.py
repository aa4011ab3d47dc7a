"""What the first ``deep_dream_image`` call in a process costs, part by part (issue 17: 9.7 s on an H200).

``python -m benchmarks.first_call [--device cuda] [--model M --layer L --k 4]`` runs in a fresh
process and prints one JSON line. It times ``import torch``, then (on CUDA) ``torch.cuda.init()``,
then the first call of ``deep_dream_image(path, layer, channels, device=...)`` with each of the
package's own steps timed where it is called (wrappers around the names ``doors.run`` calls):

* ``load`` (read + ONNX fix-up passes) and ``truncate`` (extract, convert, the probe pass);
* ``size_probes`` (the level sizes checked on the network, on the CPU before it moves),
  ``guard_probe`` (the memory guard's saved-activation count: one forward on a tile);
* ``to_device`` (weights to the device, layout), ``conversion`` of the initial image;
* every iteration (synchronised), so ``first_iteration_s`` per level against the same iteration
  of a second, warm call shows what the first use of each shape costs (cuDNN's set-up and kernel
  choices, lazy loading of CUDA modules, the port's cached operators);

then ``other`` (the call less its parts) and the second call's total. With ``--libraries`` it
times, in the same fresh process after ``torch.cuda.init()``, the first tiny convolution
(cuDNN's initialisation) and matrix product (cuBLAS's) instead.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO / "models" / "efficientnet_lite0.onnx"


def _synchronize(torch, device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def libraries(device_name: str) -> dict:
    """Seconds of ``torch.cuda.init()``, the first convolution forward+backward and the first matrix product."""
    start = time.perf_counter()
    import torch

    out = {"import_torch_s": time.perf_counter() - start}
    device = torch.device(device_name)
    if device.type == "cuda":
        start = time.perf_counter()
        torch.cuda.init()
        out["cuda_init_s"] = time.perf_counter() - start
    for name, run in (
        ("first_convolution_s", lambda: _convolution(torch, device)),
        ("second_convolution_s", lambda: _convolution(torch, device)),
        ("first_matmul_s", lambda: torch.ones(64, 64, device=device) @ torch.ones(64, 64, device=device)),
    ):
        start = time.perf_counter()
        run()
        _synchronize(torch, device)
        out[name] = time.perf_counter() - start
    return out


def _convolution(torch, device) -> None:
    conv = torch.nn.Conv2d(3, 8, 3).to(device)
    images = torch.ones(2, 3, 16, 16, device=device, requires_grad=True)
    conv(images).sum().backward()


def first_call(model: str, layer: str, k: int, device_name: str, levels: int, iterations: int) -> dict:
    if "torch" in sys.modules:
        raise RuntimeError("run in a fresh process: the first call is the point")
    start = time.perf_counter()
    import torch

    out: dict = {"import_torch_s": time.perf_counter() - start}
    device = torch.device(device_name)
    if device.type == "cuda":
        start = time.perf_counter()
        torch.cuda.init()
        out["cuda_init_s"] = time.perf_counter() - start
    start = time.perf_counter()
    import deepdreamport.doors.python as python_door
    import deepdreamport.doors.run as run
    from deepdreamport.nets.base import VisualNetwork
    from deepdreamport.nets.onnx_net import OnnxNetwork

    out["import_package_s"] = time.perf_counter() - start
    parts: dict = {}

    def timed(name, function, synchronize=False):
        def wrapper(*args, **kwargs):
            begin = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                if synchronize:
                    _synchronize(torch, device)
                parts[name] = parts.get(name, 0.0) + time.perf_counter() - begin

        return wrapper

    python_door.load_network = timed("load_s", python_door.load_network)
    OnnxNetwork._build_truncated = timed("truncate_s", OnnxNetwork._build_truncated)
    run.check_level_sizes = timed("size_probes_s", run.check_level_sizes)
    run.activation_elements_per_pixel = timed("guard_probe_s", run.activation_elements_per_pixel)
    VisualNetwork.to = timed("to_device_s", VisualNetwork.to, synchronize=True)
    run.to_nchw = timed("conversion_s", run.to_nchw, synchronize=True)
    calls = []
    last = [0.0]
    loop = run.deep_dream

    def timed_loop(*args, **kwargs):
        last[0] = time.perf_counter()  # the first iteration's time starts here, not at the call
        return timed("loop_s", loop)(*args, **kwargs)

    run.deep_dream = timed_loop
    for _ in range(2):
        parts.clear()
        iteration_times: list = []

        def on_iteration(level, iteration, strength, times=iteration_times):  # reads the strength: waits
            now = time.perf_counter()
            times.append((level, iteration, now - last[0]))
            last[0] = now

        start = time.perf_counter()
        python_door.deep_dream_image(
            model,
            layer,
            list(range(k)),
            num_iterations=iterations,
            pyramid_levels=levels,
            device=device,
            random_state=0,
            callback=on_iteration,
        )
        total = time.perf_counter() - start
        calls.append({"total_s": total, "parts": dict(parts), "iterations": iteration_times})
    first, warm = calls
    out["first_call_s"] = first["total_s"]
    out["first_call_parts"] = first["parts"]
    out["first_call_other_s"] = first["total_s"] - sum(first["parts"].values())
    out["first_iteration_s"] = {
        f"level {level}": {"first": t, "warm": warm["iterations"][index][2]}
        for index, (level, iteration, t) in enumerate(first["iterations"])
        if iteration == 1
    }
    out["second_call_s"] = warm["total_s"]
    out["second_call_parts"] = warm["parts"]
    out["beyond_cuda_init_s"] = first["total_s"] + out.get("import_package_s", 0.0)
    out["device"] = str(device)
    out["torch"] = torch.__version__
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.first_call", description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--layer", default="_blocks/10/Add")
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--levels", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--libraries", action="store_true", help="time cuDNN's and cuBLAS's first use instead")
    args = parser.parse_args(argv)
    if args.libraries:
        result = libraries(args.device)
    else:
        result = first_call(args.model, args.layer, args.k, args.device, args.levels, args.iterations)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

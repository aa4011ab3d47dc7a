"""Figure 9 probe: ``compile=True`` (``torch.compile`` of the truncated network) in one fresh process.

``python -m benchmarks.compile_probe [--device D] [--model M --layer L --k K] [--repeats N]`` prints one
JSON line. In order: one eager deep-dream iteration (K images, one tile, untimed warm-up); the
first compiled iteration (``VisualNetwork.compile``: compiling forward and backward for that
shape, from TorchInductor's on-disk cache when the caller's ``TORCHINDUCTOR_CACHE_DIR`` holds it);
steady eager and compiled iterations timed alternately (medians); then the bare forward+backward
of the truncated network in the port's layout, eager against ``torch.compile`` with the
``aot_eager`` backend (dynamo and AOT autograd without inductor's kernels) and with inductor,
which separates dynamo's own overhead from inductor's generated code.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from typing import Callable

import torch

from .common import DEFAULT_LAYER, DEFAULT_MODEL, Setup, load_setup, paired_medians, synchronize
from .run import dream_iteration


def bare_pass(setup: Setup, module: torch.nn.Module) -> Callable[[], object]:
    """Forward + input gradient of ``module`` on K tiles in the port's layout, nothing around it."""
    batch = torch.randn(setup.k, setup.network.input_channels, setup.tile_size, setup.tile_size, dtype=setup.dtype)
    batch = batch.to(setup.device).contiguous(memory_format=setup.truncated.memory_format)
    rows = torch.arange(setup.k, device=setup.device)

    def run():
        with torch.enable_grad():
            x = batch.detach().requires_grad_(True)
            out = module(x)
            if out.dim() == 2:
                out = out[:, :, None, None]
            torch.autograd.grad(out[rows, setup.channel_index].sum(), x)

    return run


def first_call_s(fn: Callable[[], object], device: torch.device) -> float:
    start = time.perf_counter()
    fn()
    synchronize(device)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--layer", default=DEFAULT_LAYER)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-bare", action="store_true", help="skip the bare-pass backends")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    setup = load_setup(args.model, args.layer, args.k, torch.float32, device)
    visual = setup.truncated
    iteration = dream_iteration(setup, setup.tile_size, 1)

    def run(compiled: bool) -> Callable[[], object]:
        def go():
            visual.compile = compiled
            iteration()

        return go

    run(False)()  # warm-up: allocator, oneDNN primitives
    eager_first = first_call_s(run(False), device)
    compiled_first = first_call_s(run(True), device)
    eager_s, compiled_s = paired_medians(run(False), run(True), device, args.repeats, warmup=1)
    result = {
        "device": str(device),
        "memory_format": str(visual.memory_format),
        "eager_iteration_s": eager_s,
        "compiled_iteration_s": compiled_s,
        "first_compiled_iteration_s": compiled_first,
        "compile_s": compiled_first - eager_first,
    }
    if not args.no_bare:
        eager_bare = bare_pass(setup, visual.module)
        backends = {}
        for backend in ("aot_eager", "inductor"):
            # a copy: its own generated forward, so dynamo's cache of the port's compile is not reused
            compiled = bare_pass(setup, torch.compile(copy.deepcopy(visual.module), backend=backend))
            first = first_call_s(compiled, device)
            eager, steady = paired_medians(eager_bare, compiled, device, args.repeats, warmup=1)
            backends[backend] = {"first_s": first, "eager_s": eager, "compiled_s": steady, "ratio": steady / eager}
        result["bare_backends"] = backends
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

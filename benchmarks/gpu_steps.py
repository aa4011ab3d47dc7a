"""The small steps of ``benchmarks/gpu_check.sh`` (issue 17), each printing one JSON line.

``python -m benchmarks.gpu_steps STEP [--device D] [--model M --layer L] [--quick]``:

* ``device``: torch, CUDA, cuDNN, the GPU, its free memory and the TF32 settings;
* ``parity_graphs``: every MATLAB parity case with each level's iteration replayed from a captured
  graph (``DreamSettings.graphs``), judged as ``deepdream parity`` judges, and compared field by
  field with the same case run eagerly (the same numbers are required for the option to go on);
* ``parity_record``: ``deepdream parity record`` of a tinynet case on the device, checked there;
* ``sync``: host synchronisations in 5 iterations (K = 8, 448², one level), eager and replayed,
  with ``torch.cuda.set_sync_debug_mode`` (allowed: the strengths' one copy at the end);
* ``kernel_time``: GPU kernel time / wall time of a warm demo-size dream (K = 4, 3 levels × 3
  iterations, 224² start), eager and replayed (``torch.profiler``; the issue's target: >= 0.70);
* ``batch``: the batch the memory guard picks on this device for a run too large for one batch.

Everything runs in the doors' precision mode (``doors.run.ieee_float32``). On the CPU (the dry run
of the check) the CUDA-only parts are reported as skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from deepdreamport.core.loop import DreamSettings, deep_dream
from deepdreamport.doors.run import ieee_float32

from .common import DEFAULT_LAYER, DEFAULT_MODEL, REPO, load_setup, synchronize

CASES = REPO / "parity" / "reference" / "cases"
MODELS = REPO / "parity" / "reference" / "models"


def step_device(args) -> dict:
    device = torch.device(args.device)
    out = {
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "cudnn_conv_fp32_precision": getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", None),
        "matmul_fp32_precision": getattr(torch.backends.cuda.matmul, "fp32_precision", None),
        "device": str(device),
    }
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        out.update(gpu=torch.cuda.get_device_name(device), free_mib=free / 2**20, total_mib=total / 2**20)
    return out


def step_parity_graphs(args) -> dict:
    """Each case eagerly and with replayed levels; the judgements' numbers must be identical."""
    from deepdreamport.parity import judge
    from deepdreamport.parity.cases import load_case

    cases = sorted(CASES.glob("*.mat"))[: 1 if args.quick else None]
    rows = []
    original = judge._package.DreamSettings
    for path in cases:
        case = load_case(path)
        eager = judge.judge_case(case, MODELS, args.device).result
        try:
            judge._package.DreamSettings = lambda *a, **k: dataclasses.replace(original(*a, **k), graphs=True)
            replayed = judge.judge_case(case, MODELS, args.device).result
        finally:
            judge._package.DreamSettings = original
        fields = {
            name: (getattr(eager, name), getattr(replayed, name))
            for name in ("iraw_relative_error", "ilinear_relative_error", "strength_abs_error", "rolls_match")
        }
        rows.append(
            {
                "case": path.stem,
                "passed": bool(replayed.passed),
                "eager_passed": bool(eager.passed),
                "identical_to_eager": all(a == b for a, b in fields.values()),
                "fields": {name: list(pair) for name, pair in fields.items()},
            }
        )
    return {
        "cases": rows,
        "all_passed": all(r["passed"] for r in rows),
        "all_identical_to_eager": all(r["identical_to_eager"] for r in rows),
    }


def step_parity_record(args) -> dict:
    """``deepdream parity record`` of a tinynet case on the device, then ``deepdream parity`` of it there."""
    import contextlib
    import io
    import tempfile

    from deepdreamport.cli import main

    with tempfile.TemporaryDirectory() as folder:
        record = ["parity", "record", str(MODELS / "tinynet.onnx"), "--layer", "relu2", "--channels", "1:2"]
        record += ["--iterations", "2", "--levels", "2", "--out", folder, "--device", args.device]
        check = ["parity", folder, "--models", str(MODELS), "--device", args.device, "--json"]
        recorded = main(record)
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            checked = main(check)
    results = [json.loads(line) for line in text.getvalue().splitlines() if line.startswith("{")]
    return {
        "record_status": recorded,
        "check_status": checked,
        "passed": recorded == 0 and checked == 0,
        "cases": results,
    }


def _effnet(args, k: int):
    return load_setup(Path(args.model), args.layer, k, torch.float32, torch.device(args.device))


def step_sync(args) -> dict:
    device = torch.device(args.device)
    if device.type != "cuda":
        return {"skipped": "torch.cuda.set_sync_debug_mode needs CUDA"}
    setup = _effnet(args, 8)
    images = setup.images(2 * setup.tile_size)
    out = {}
    for graphs in (False, True):
        settings = DreamSettings(5, 1, 1.4, setup.tile_size, None, graphs=graphs)

        def run(settings=settings):
            deep_dream(images, setup.channel_index, setup.truncated.gradient, settings, np.random.RandomState(0))

        run()  # warm-up: every size's caches built
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("warn")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run()
        torch.cuda.set_sync_debug_mode("default")
        messages = [str(w.message).splitlines()[0] for w in caught if "synchroniz" in str(w.message).lower()]
        out["graphs" if graphs else "eager"] = {"synchronisations": len(messages), "messages": messages[:5]}
    out["passed"] = all(out[key]["synchronisations"] <= 1 for key in ("eager", "graphs"))
    return out


def step_kernel_time(args) -> dict:
    """GPU kernel time / wall time of a warm dream of the demo's size (profiled, after an unprofiled warm-up)."""
    device = torch.device(args.device)
    if device.type != "cuda":
        return {"skipped": "kernel time needs CUDA"}
    from torch.profiler import ProfilerActivity, profile

    setup = _effnet(args, 4)
    images = setup.images(setup.tile_size)
    out = {}
    for graphs in (False, True):
        settings = DreamSettings(3, 3, 1.4, setup.tile_size, None, graphs=graphs)

        def run(settings=settings):
            deep_dream(images, setup.channel_index, setup.truncated.gradient, settings, np.random.RandomState(0))

        run()
        synchronize(device)
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            start = time.perf_counter()
            run()
            synchronize(device)
            wall = time.perf_counter() - start
        kernel_us = sum(event.self_device_time_total for event in prof.key_averages())
        launches = sum(
            event.count
            for event in prof.key_averages()
            if event.key in ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC", "cudaGraphLaunch")
        )
        out["graphs" if graphs else "eager"] = {
            "wall_s": wall,
            "kernel_s": kernel_us / 1e6,
            "kernel_over_wall": kernel_us / 1e6 / wall,
            "launch_calls": launches,
        }
    return out


def step_batch(args) -> dict:
    """The batch ``guard.dream_max_batch`` picks here for K = 64 images at 2048² (tiles of 224²)."""
    from deepdreamport.doors import guard

    device = torch.device(args.device)
    setup = _effnet(args, 1)
    per_pixel = guard.activation_elements_per_pixel(setup.truncated, setup.network.input_channels, setup.tile_size)
    settings = DreamSettings(10, 1, 1.4, setup.tile_size)
    size = (512, 512) if args.quick else (2048, 2048)
    limit = None if device.type == "cuda" else 8 * 2**30  # the CPU keeps its default; show the rule at 8 GiB
    shown = torch.device("cuda") if device.type != "cuda" else device
    chosen = guard.dream_max_batch(per_pixel, 64, 3, size, settings, torch.float32, shown, limit=limit)
    return {
        "images": 64,
        "size": list(size),
        "available_bytes": guard.available_bytes(device) if device.type == "cuda" else limit,
        "chosen_max_batch": chosen,
        "per_pixel": per_pixel,
    }


STEPS = {
    "device": step_device,
    "parity_graphs": step_parity_graphs,
    "parity_record": step_parity_record,
    "sync": step_sync,
    "kernel_time": step_kernel_time,
    "batch": step_batch,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_steps", description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--layer", default=DEFAULT_LAYER)
    parser.add_argument("--quick", action="store_true", help="the dry run's sizes")
    args = parser.parse_args(argv)
    with ieee_float32(torch.device(args.device)):
        result = STEPS[args.step](args)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

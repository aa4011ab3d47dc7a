"""``python -m benchmarks``: every figure as a ratio measured in this run; a table and JSON."""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from deepdreamport.core.loop import DreamSettings, deep_dream, effective_max_batch
from deepdreamport.core.tiles import draw_roll, tiled_gradient

from .common import DEFAULT_LAYER, DEFAULT_MODEL, REPO, Setup, load_setup, paired_medians, timeit
from .matlab_loop import looped_deep_dream, looped_tiled_gradient

TARGETS = {
    "overhead": ("<=", 1.15),
    "batched_vs_loop": (">=", 1.3),
    "port_vs_lucent": ("<=", 1.0),
    "memory_growth": ("<=", 1.5),
}


def dream_iteration(setup: Setup, size: int, iterations: int, max_batch=None) -> Callable[[], object]:
    """``iterations`` deep-dream iterations (tiled gradient + Laplacian normalisation + update)."""
    images = setup.images(size)
    settings = DreamSettings(iterations, 1, 1.4, setup.tile_size, max_batch)

    def run():
        deep_dream(images, setup.channel_index, setup.truncated.gradient, settings, np.random.RandomState(0))

    return run


def dream_seconds_per_iteration(setup: Setup, size: int, iterations: int, repeats: int, max_batch=None) -> float:
    """Median time of one deep-dream iteration, via ``deep_dream``."""
    return timeit(dream_iteration(setup, size, iterations, max_batch), setup.device, repeats) / iterations


def bare_forward_backward(setup: Setup, size: int) -> Callable[[], object]:
    """A bare forward + backward of the truncated network on the tiles one iteration passes it,
    in the same chunks (the port's batch limit on this device), with nothing else around it."""
    tiles = 1 if size <= setup.tile_size else (-(-size // setup.tile_size)) ** 2
    side = min(size, setup.tile_size) if tiles == 1 else setup.tile_size
    batch = torch.randn(
        setup.k * tiles, setup.network.input_channels, side, side, dtype=setup.dtype, device=setup.device
    )
    channels = setup.channel_index.repeat_interleave(tiles)
    chunk = effective_max_batch(None, setup.device) or batch.shape[0]
    module = setup.truncated.module

    def run():
        with torch.enable_grad():
            for start in range(0, batch.shape[0], chunk):
                x = batch[start : start + chunk].detach().requires_grad_(True)
                out = module(x)
                if out.dim() == 2:
                    out = out[:, :, None, None]
                rows = torch.arange(x.shape[0], device=setup.device)
                torch.autograd.grad(out[rows, channels[start : start + chunk]].sum(), x)

    return run


def figure_overhead(setup: Setup, quick: bool) -> dict:
    out = {}
    for label, size in (("one_tile", setup.tile_size), ("four_tiles", 2 * setup.tile_size)):
        repeats = 2 if quick else 7
        # one iteration against one bare pass, timed alternately so load drifts hit both alike
        dream, bare = paired_medians(
            dream_iteration(setup, size, 1), bare_forward_backward(setup, size), setup.device, repeats
        )
        out[label] = {"size": size, "iteration_s": dream, "bare_forward_backward_s": bare, "ratio": dream / bare}
    out["ratio"] = max(out["one_tile"]["ratio"], out["four_tiles"]["ratio"])
    return out


def figure_batched(setup: Setup, quick: bool) -> dict:
    iterations, levels = (1, 2) if quick else (2, 3)
    images = setup.images(2 * setup.tile_size)
    # same numbers, pass for pass: one tiled gradient both ways from the same input and stream
    port_gradient, _ = tiled_gradient(
        images,
        setup.channel_index,
        setup.truncated.gradient,
        setup.tile_size,
        draw_roll(setup.tile_size, np.random.RandomState(0)),
        effective_max_batch(None, setup.device),
    )
    loop_gradient, loop_activation = looped_tiled_gradient(
        images, setup.channel_index, setup.truncated.gradient, setup.tile_size, np.random.RandomState(0)
    )
    pass_difference = float((port_gradient - loop_gradient).abs().max() / loop_gradient.abs().max())
    settings = DreamSettings(iterations, levels, 1.4, setup.tile_size, None)
    grad = setup.truncated.gradient
    start = time.perf_counter()
    port = deep_dream(images, setup.channel_index, grad, settings, np.random.RandomState(0))
    port_s = time.perf_counter() - start
    start = time.perf_counter()
    looped, strengths = looped_deep_dream(
        images, setup.channel_index, grad, iterations, levels, 1.4, setup.tile_size, np.random.RandomState(0)
    )
    loop_s = time.perf_counter() - start
    scale = float(looped.abs().max())
    difference = float((port.images - looped).abs().max()) / scale
    strength_difference = float(np.max(np.abs(port.activation_log[:, 2] - strengths) / np.abs(strengths).clip(1e-30)))
    return {
        "start_size": 2 * setup.tile_size,
        "levels": levels,
        "iterations": iterations,
        "port_s": port_s,
        "matlab_loop_s": loop_s,
        "ratio": loop_s / port_s,
        "max_relative_gradient_difference_one_pass": pass_difference,
        "max_relative_image_difference": difference,
        "max_relative_strength_difference": strength_difference,
    }


def figure_lucent(setup: Setup, quick: bool, port_step_s: float) -> dict:
    from .lucent_step import lucent_seconds_per_step

    steps = 2 if quick else 5
    lucent = lucent_seconds_per_step(setup, setup.tile_size, steps)
    return {
        "size": setup.tile_size,
        "batch": setup.k,
        "port_iteration_s": port_step_s,
        **lucent,
        "ratio": port_step_s / lucent["seconds_per_step"],
    }


def figure_memory(args, setup: Setup, sizes: list[int]) -> dict:
    rows = []
    for size in sizes:
        command = [
            sys.executable,
            "-m",
            "benchmarks.memory_probe",
            str(args.model),
            args.layer,
            str(size),
            "--k",
            str(args.k),
            "--max-batch",
            str(args.max_batch),
        ]
        if args.tile_size:
            command += ["--tile-size", str(args.tile_size)]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"memory probe at {size} failed:\n{done.stderr[-2000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    base = rows[0]["peak_mib"]
    for row in rows:
        row["ratio_to_smallest"] = row["peak_mib"] / base
        row["working_mib"] = row["peak_mib"] - row["image_state_mib"]
    return {
        "max_batch": args.max_batch,
        "k": args.k,
        "sizes": rows,
        "ratio": rows[-1]["peak_mib"] / base,
        "ratio_without_image_state": rows[-1]["working_mib"] / rows[0]["working_mib"],
    }


def figure_precision_threads(args, setup: Setup, quick: bool, float32_s: float) -> dict:
    iterations, repeats = (1, 1) if quick else (2, 3)
    size = setup.tile_size
    double = load_setup(args.model, args.layer, args.k, torch.float64, setup.device, args.tile_size)
    float64_s = dream_seconds_per_iteration(double, size, iterations, repeats)
    setup.truncated.to(setup.device, torch.float32)  # the cached module was cast to float64 above
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one_thread_s = dream_seconds_per_iteration(setup, size, iterations, repeats)
    finally:
        torch.set_num_threads(threads)
    many_s = dream_seconds_per_iteration(setup, size, iterations, repeats)
    return {
        "size": size,
        "float32_s": float32_s,
        "float64_s": float64_s,
        "float64_over_float32": float64_s / float32_s,
        "threads": threads,
        "one_thread_s": one_thread_s,
        "all_threads_s": many_s,
        "one_thread_over_all": one_thread_s / many_s,
    }


def verdict(name: str, value: float) -> str:
    op, target = TARGETS[name]
    ok = value <= target if op == "<=" else value >= target
    return f"{op} {target:g}: {'met' if ok else 'MISSED'}"


def table(results: dict) -> str:
    f = results["figures"]
    lines = [
        f"model {results['model']} layer {results['layer']}  K={results['k']}  tile {results['tile_size']}  "
        f"{results['device']}, {results['threads']} threads, torch {results['torch']}",
        "",
    ]
    row = "{:<44} {:>10}  {}"
    lines.append(row.format("figure", "value", "target"))
    o = f["overhead"]
    for key in ("one_tile", "four_tiles"):
        r = o[key]
        lines.append(
            row.format(
                f"1 overhead {r['size']}² ({r['iteration_s'] * 1e3:.0f} / {r['bare_forward_backward_s'] * 1e3:.0f} ms)",
                f"{r['ratio']:.3f}",
                verdict("overhead", r["ratio"]),
            )
        )
    b = f.get("batched_vs_loop")
    if b:
        lines.append(
            row.format(
                f"2 batched vs MATLAB loop ({b['matlab_loop_s']:.1f} / {b['port_s']:.1f} s)",
                f"{b['ratio']:.2f}x",
                verdict("batched_vs_loop", b["ratio"]),
            )
        )
        lines.append(
            row.format(
                "  same numbers: one pass, max rel. gradient diff.",
                f"{b['max_relative_gradient_difference_one_pass']:.1e}",
                "",
            )
        )
        lines.append(
            row.format(
                f"  after the whole run ({b['levels']} levels), max rel. image diff.",
                f"{b['max_relative_image_difference']:.1e}",
                "",
            )
        )
    lucent = f.get("port_vs_lucent")
    if lucent:
        lines.append(
            row.format(
                f"3 port / lucent per step ({lucent['port_iteration_s'] * 1e3:.0f} / "
                f"{lucent['seconds_per_step'] * 1e3:.0f} ms)",
                f"{lucent['ratio']:.2f}",
                verdict("port_vs_lucent", lucent["ratio"]),
            )
        )
        lines.append(f"  ({lucent['implementation']})")
    m = f.get("memory", {"sizes": []})
    for r in m["sizes"]:
        lines.append(
            row.format(
                f"4 peak RSS {r['size']}² (max_batch {m['max_batch']})",
                f"{r['peak_mib']:.0f} MiB",
                f"x{r['ratio_to_smallest']:.2f}",
            )
        )
    if m["sizes"]:
        lines.append(
            row.format("4 memory growth, largest / smallest", f"{m['ratio']:.2f}", verdict("memory_growth", m["ratio"]))
        )
        lines.append(row.format("  same, less the K-image state", f"{m['ratio_without_image_state']:.2f}", ""))
    p = f["precision_threads"]
    lines.append(
        row.format(
            f"5 float64 / float32 ({p['float64_s'] * 1e3:.0f} / {p['float32_s'] * 1e3:.0f} ms)",
            f"{p['float64_over_float32']:.2f}",
            "",
        )
    )
    lines.append(
        row.format(
            f"5 1 thread / {p['threads']} threads ({p['one_thread_s'] * 1e3:.0f} / {p['all_threads_s'] * 1e3:.0f} ms)",
            f"{p['one_thread_over_all']:.2f}",
            "",
        )
    )
    return "\n".join(lines)


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="smoke-test sizes (CI): well under a minute on a small model"
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--layer", default=DEFAULT_LAYER)
    parser.add_argument("--k", type=int, default=8, help="channels (batch of images), default 8")
    parser.add_argument("--tile-size", type=int, default=None, help="override the network's input size")
    parser.add_argument("--max-batch", type=int, default=8, help="batch limit for the memory figure")
    parser.add_argument("--memory-sizes", default=None, help="comma-separated sizes (default 224,512,1024,2048)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--skip", default="", help="comma-separated figures to skip: lucent,memory,batched")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    if not args.model.exists():
        print(f"model {args.model} not found: run ./dev setup, or pass --model and --layer", file=sys.stderr)
        return 2
    skip = set(filter(None, args.skip.split(",")))
    device = torch.device(args.device)
    started = time.perf_counter()
    setup = load_setup(args.model, args.layer, args.k, torch.float32, device, args.tile_size)
    figures: dict = {}
    figures["overhead"] = figure_overhead(setup, args.quick)
    port_step = figures["overhead"]["one_tile"]["iteration_s"]
    if "batched" not in skip:
        figures["batched_vs_loop"] = figure_batched(setup, args.quick)
    if "lucent" not in skip:
        figures["port_vs_lucent"] = figure_lucent(setup, args.quick, port_step)
    figures["precision_threads"] = figure_precision_threads(args, setup, args.quick, port_step)
    if "memory" not in skip:
        if args.memory_sizes:
            sizes = [int(s) for s in args.memory_sizes.split(",")]
        elif args.quick:
            sizes = [setup.tile_size, 4 * setup.tile_size]
        else:
            sizes = [224, 512, 1024, 2048]
        figures["memory"] = figure_memory(args, setup, sizes)
    results = {
        "model": str(args.model),
        "layer": args.layer,
        "k": args.k,
        "tile_size": setup.tile_size,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "quick": args.quick,
        "targets": {name: f"{op} {value}" for name, (op, value) in TARGETS.items()},
        "figures": figures,
        "wall_s": time.perf_counter() - started,
    }
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"\n(total {results['wall_s']:.0f} s)")
    return 0

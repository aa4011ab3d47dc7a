"""``python -m benchmarks``: every figure as a ratio measured in this run; a table and JSON."""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from deepdreamport.core.loop import DreamSettings, deep_dream, effective_max_batch
from deepdreamport.core.tiles import draw_roll, tiled_gradient
from deepdreamport.doors.run import ieee_float32

from .common import DEFAULT_LAYER, DEFAULT_MODEL, REPO, Setup, load_setup, paired_medians, synchronize, timeit
from .matlab_loop import looped_deep_dream, looped_tiled_gradient
from .op_count import figure_op_count

SMOKE_MODEL, SMOKE_LAYER, SMOKE_K = REPO / "parity" / "reference" / "models" / "tinynet.onnx", "relu2", 4
"""``--quick`` without ``--model``: the network of the smoke test (``tests/test_benchmarks_smoke.py``)."""

TARGETS = {
    "overhead": ("<=", 0.80),  # against the bare pass in the default layout (issue 12)
    "batched_vs_loop": (">=", 5.0),  # on a GPU at 896², K = 8 (1.3 was the CPU figure of issue 10)
    "port_vs_lucent": ("<=", 0.60),
    "memory_growth": ("<=", 1.5),
    "host_state_memory": ("<=", 1.2),
    "demo_startup": ("<=", 1.5),
    "op_count": ("<=", 1.3),  # aten operations per iteration / per bare pass, one batch (issue 17)
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


def bare_forward_backward(
    setup: Setup, size: int, memory_format: torch.memory_format = torch.contiguous_format, chunk=None
) -> Callable[[], object]:
    """A bare forward + backward of the truncated network on the tiles one iteration passes it,
    in the same chunks (the port's batch limit on this device), with nothing else around it,
    the network and its input in ``memory_format`` (the default layout: the pre-issue-12 baseline)."""
    tiles = 1 if size <= setup.tile_size else (-(-size // setup.tile_size)) ** 2
    side = min(size, setup.tile_size) if tiles == 1 else setup.tile_size
    batch = torch.randn(
        setup.k * tiles, setup.network.input_channels, side, side, dtype=setup.dtype, device=setup.device
    )
    channels = setup.channel_index.repeat_interleave(tiles)
    chunk = chunk or effective_max_batch(None, setup.device) or batch.shape[0]
    module = copy.deepcopy(setup.truncated.module).to(memory_format=memory_format)
    batch = batch.contiguous(memory_format=memory_format)

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
    """One iteration / a bare forward+backward in the default layout (and in the port's own layout)."""
    out = {}
    for label, size in (("one_tile", setup.tile_size), ("four_tiles", 2 * setup.tile_size)):
        repeats = 2 if quick else 7
        # one iteration against one bare pass, timed alternately so load drifts hit both alike
        dream, bare = paired_medians(
            dream_iteration(setup, size, 1), bare_forward_backward(setup, size), setup.device, repeats
        )
        _, bare_same_layout = paired_medians(
            dream_iteration(setup, size, 1),
            bare_forward_backward(setup, size, setup.truncated.memory_format),
            setup.device,
            max(1, repeats // 2),
        )
        out[label] = {
            "size": size,
            "iteration_s": dream,
            "bare_forward_backward_s": bare,
            "ratio": dream / bare,
            "port_memory_format": str(setup.truncated.memory_format),
            "bare_same_layout_s": bare_same_layout,
            "ratio_same_layout": dream / bare_same_layout,
        }
    out["ratio"] = max(out["one_tile"]["ratio"], out["four_tiles"]["ratio"])
    return out


def figure_memory_format(setup: Setup, args, quick: bool) -> dict:
    """The measurement behind ``nets.base.preferred_memory_format``: bare forward+backward, both layouts."""
    repeats = 2 if quick else 5
    out = {"device": str(setup.device)}
    for dtype in (torch.float32, torch.float64):
        if dtype == torch.float64 and (quick or "layout64" in args.skip):
            continue
        case = (
            setup
            if dtype == setup.dtype
            else load_setup(args.model, args.layer, args.k, dtype, setup.device, args.tile_size)
        )
        default, last = paired_medians(
            bare_forward_backward(case, case.tile_size),
            bare_forward_backward(case, case.tile_size, torch.channels_last),
            setup.device,
            repeats if dtype == torch.float32 else 2,  # float64 passes are 4-8x longer
        )
        out[str(dtype).replace("torch.", "")] = {
            "default_s": default,
            "channels_last_s": last,
            "channels_last_over_default": last / default,
            "chosen": str(case.truncated.memory_format),
        }
    setup.truncated.to(setup.device, setup.dtype)  # the cached module was cast to float64 above
    return out


def figure_batch_sizes(setup: Setup, quick: bool) -> dict:
    """Time per tile of a bare forward+backward at several chunk sizes, in the port's layout (CPU_MAX_BATCH)."""
    sizes = (2, 4) if quick else (2, 4, 8, 16)
    repeats = 1 if quick else 3
    rows = []
    layout = setup.truncated.memory_format
    for chunk in sizes:
        run = bare_forward_backward(setup, 2 * setup.tile_size, layout, chunk=chunk)  # 4 tiles × K images
        seconds = timeit(run, setup.device, repeats)
        rows.append({"max_batch": chunk, "seconds_per_tile": seconds / (4 * setup.k)})
    best = min(rows, key=lambda r: r["seconds_per_tile"])
    return {"memory_format": str(layout), "rows": rows, "fastest": best["max_batch"]}


def figure_batched(setup: Setup, quick: bool, size=None) -> dict:
    iterations, levels = (1, 2) if quick else (2, 3)
    size = size or 2 * setup.tile_size
    images = setup.images(size)
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
    # warm-up: one iteration per level both ways, so that every size's first use (kernel choices,
    # cached operators) is timed here and not in the figure (not in --quick: a smoke run, no timing)
    warm = DreamSettings(1, levels, 1.4, setup.tile_size, None)
    synchronize(setup.device)
    start = time.perf_counter()
    if not quick:
        deep_dream(images, setup.channel_index, grad, warm, np.random.RandomState(0))
        looped_deep_dream(images, setup.channel_index, grad, 1, levels, 1.4, setup.tile_size, np.random.RandomState(0))
    synchronize(setup.device)
    warmup_s = time.perf_counter() - start
    start = time.perf_counter()
    port = deep_dream(images, setup.channel_index, grad, settings, np.random.RandomState(0))
    synchronize(setup.device)
    port_s = time.perf_counter() - start
    start = time.perf_counter()
    looped, strengths = looped_deep_dream(
        images, setup.channel_index, grad, iterations, levels, 1.4, setup.tile_size, np.random.RandomState(0)
    )
    synchronize(setup.device)
    loop_s = time.perf_counter() - start
    scale = float(looped.abs().max())
    difference = float((port.images - looped).abs().max()) / scale
    strength_difference = float(np.max(np.abs(port.activation_log[:, 2] - strengths) / np.abs(strengths).clip(1e-30)))
    return {
        "device": str(setup.device),
        "start_size": size,
        "levels": levels,
        "iterations": iterations,
        "port_s": port_s,
        "matlab_loop_s": loop_s,
        "warmup_s": warmup_s,
        "ratio": loop_s / port_s,
        "max_relative_gradient_difference_one_pass": pass_difference,
        "max_relative_image_difference": difference,
        "max_relative_strength_difference": strength_difference,
    }


def figure_graphs(setup: Setup, quick: bool) -> dict:
    """Figure 11: one level's iteration replayed from a captured graph (``DreamSettings.graphs``) / eager.

    Per iteration = (N iterations − 1 iteration) / (N − 1) for each mode, alternately (medians), so the
    capture (warm-up + capture, once per level) is left out and reported as ``capture_s``. The numbers
    must be the eager ones: images and strengths after N iterations compared bit for bit. On a device
    other than CUDA the replay is the recorded stand-in (for testing; its speed means nothing).
    """
    iterations, repeats = (2, 1) if quick else (6, 5)
    out: dict = {"device": str(setup.device), "iterations": iterations}
    for label, size in (("one_tile", setup.tile_size), ("four_tiles", 2 * setup.tile_size)):
        images = setup.images(size)

        def run(count: int, graphs: bool, images=images):
            settings = DreamSettings(count, 1, 1.4, setup.tile_size, None, graphs=graphs)
            return deep_dream(images, setup.channel_index, setup.truncated.gradient, settings, np.random.RandomState(0))

        eager, replayed = run(iterations, False), run(iterations, True)
        same = bool(torch.equal(eager.images, replayed.images)) and bool(
            np.array_equal(eager.activation_log, replayed.activation_log)
        )
        difference = float((eager.images - replayed.images).abs().max() / eager.images.abs().max())
        eager_n, graphs_n = paired_medians(
            lambda: run(iterations, False), lambda: run(iterations, True), setup.device, repeats
        )
        eager_1, graphs_1 = paired_medians(lambda: run(1, False), lambda: run(1, True), setup.device, repeats)
        eager_s = (eager_n - eager_1) / (iterations - 1)
        graphs_s = (graphs_n - graphs_1) / (iterations - 1)
        out[label] = {
            "size": size,
            "eager_iteration_s": eager_s,
            "graphs_iteration_s": graphs_s,
            "ratio": graphs_s / eager_s,
            "capture_s": graphs_1 - graphs_s,
            "same_numbers": same,
            "max_relative_image_difference": difference,
        }
    out["ratio"] = max(out["one_tile"]["ratio"], out["four_tiles"]["ratio"])
    out["same_numbers"] = out["one_tile"]["same_numbers"] and out["four_tiles"]["same_numbers"]
    return out


def figure_lucent(setup: Setup, args, quick: bool) -> dict:
    """Figure 3: the port's deep-dream iteration / one step of lucent's ``render_vis``, timed alternately.

    Two lucent baselines, both on the same 224² batch of K images: (a) the port's own truncated
    module (its fix-up passes and memory format: only the algorithms differ) and (b) the network
    as a lucent user has it (``lucent_user_module``: ``onnx.utils`` truncation, plain
    ``onnx2torch.convert``, default layout). Without lucent a re-creation of its step is timed.
    """
    from .lucent_step import lucent_step_timer, lucent_user_module, recreated_step_function

    steps, repeats = (2, 1) if quick else (4, 5)
    port = dream_iteration(setup, setup.tile_size, steps)
    baselines = {
        "port_module": setup.truncated.module,
        "lucent_user_module": lucent_user_module(setup, args.model, args.layer),
    }
    rows = {}
    for name, module in baselines.items():
        channels = setup.channel_index.tolist()
        per_step, implementation = lucent_step_timer(module, channels, setup.tile_size, steps, setup.device)
        if per_step is None:
            implementation = f"re-creation ({implementation})"
            per_step = recreated_step_function(setup, module, setup.tile_size, steps)
        per_step()  # warm-up
        port()
        port_times, lucent_times = [], []
        for _ in range(repeats):
            synchronize(setup.device)
            start = time.perf_counter()
            port()
            synchronize(setup.device)
            port_times.append((time.perf_counter() - start) / steps)
            lucent_times.append(per_step())
        port_s, lucent_s = statistics.median(port_times), statistics.median(lucent_times)
        rows[name] = {
            "implementation": implementation,
            "port_iteration_s": port_s,
            "seconds_per_step": lucent_s,
            "ratio": port_s / lucent_s,
        }
    return {
        "size": setup.tile_size,
        "batch": setup.k,
        "repeats": repeats,
        **rows,
        "ratio": rows["port_module"]["ratio"],
    }


def figure_memory(args, setup: Setup, sizes: list[int], host_state: bool = False) -> dict:
    """Peak memory of one iteration per size, each in a fresh process (``memory_probe``).

    On the CPU the peak is the process's RSS high-water mark; on CUDA the peak device memory
    allocated by torch. With ``host_state`` the K images stay on the host (figure 4b): on CUDA
    the device peak then excludes them; on the CPU host and device are one memory, so the
    comparable number is the RSS less the image state (``ratio_without_image_state``).
    """
    rows = []
    k = args.host_state_k if host_state else args.k
    for size in sizes:
        command = [
            sys.executable,
            "-m",
            "benchmarks.memory_probe",
            str(args.model),
            args.layer,
            str(size),
            "--k",
            str(k),
            "--max-batch",
            str(args.max_batch),
            "--device",
            args.device,
        ]
        if host_state:
            command.append("--host-state")
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
    on_device = torch.device(args.device).type == "cuda"
    host_state_ratio = rows[-1]["peak_mib"] / base if on_device else rows[-1]["working_mib"] / rows[0]["working_mib"]
    return {
        "host_state_ratio": host_state_ratio if host_state else None,
        "max_batch": args.max_batch,
        "k": k,
        "host_state": host_state,
        "device": args.device,
        "sizes": rows,
        "ratio": rows[-1]["peak_mib"] / base,
        "ratio_without_image_state": rows[-1]["working_mib"] / rows[0]["working_mib"],
    }


def figure_compile(args, quick: bool, skip: set) -> dict:
    """Figure 9 (opt-in, ``--compile``): ``compile=True`` (``torch.compile``), compile time against its gain.

    ``benchmarks.compile_probe`` runs twice in fresh processes sharing one new
    ``TORCHINDUCTOR_CACHE_DIR``: ``cold`` compiles from nothing (a first run on a machine),
    ``warm`` finds the kernels in inductor's on-disk cache (every later process: atlas workers,
    later runs). Each gives the first compiled iteration, steady eager and compiled iterations
    (alternating, medians) and, in the cold run, the bare pass with the ``aot_eager`` and
    inductor backends. Break-even = compile time / gain per iteration (``None``: never pays).
    Unless ``demo`` is skipped, ``deepdream demo`` end to end without and with ``--compile``
    (cold cache, then warm), each a fresh process, alternately.
    """
    repeats = 1 if quick else 5
    probe = [sys.executable, "-m", "benchmarks.compile_probe", "--device", args.device, "--repeats", str(repeats)]
    probe += ["--model", str(args.model), "--layer", args.layer, "--k", str(args.k)]
    out: dict = {}
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(Path(cache) / "inductor")}
        for label, extra in (("cold", []), ("warm", ["--no-bare"])):
            done = subprocess.run(probe + extra, cwd=REPO, capture_output=True, text=True, env=environment)
            if done.returncode:
                raise RuntimeError(f"compile probe failed:\n{done.stderr[-2000:]}")
            run = json.loads(done.stdout.strip().splitlines()[-1])
            gain = run["eager_iteration_s"] - run["compiled_iteration_s"]
            run["compiled_over_eager"] = run["compiled_iteration_s"] / run["eager_iteration_s"]
            run["break_even_iterations"] = run["compile_s"] / gain if gain > 0 else None
            out[label] = run
        if "demo" not in skip:
            out["demo"] = _demo_with_and_without_compile(args, Path(cache), environment, 1 if quick else 2)
    cold = out["cold"]
    out.update(
        {
            key: cold[key]
            for key in ("eager_iteration_s", "compiled_iteration_s", "compiled_over_eager", "break_even_iterations")
        }
    )
    out["compile_s"] = cold["compile_s"]
    out["compile_warm_s"] = out["warm"]["compile_s"]
    return out


def _demo_with_and_without_compile(args, folder: Path, environment: dict, repeats: int) -> dict:
    """Wall seconds of ``deepdream demo`` (fresh processes) without and with ``--compile``, alternately."""
    demo = [sys.executable, "-m", "deepdreamport", "demo", "--device", args.device, "--out", str(folder / "demo.png")]
    eager, compiled = [], []
    for _ in range(repeats):
        for command, times in ((demo, eager), (demo + ["--compile"], compiled)):
            start = time.perf_counter()
            subprocess.run(command, cwd=REPO, check=True, capture_output=True, env=environment)
            times.append(time.perf_counter() - start)
    warm = compiled[1:] or compiled  # the first compiled demo compiles (the probe's K and sizes differ)
    return {
        "eager_s": eager,
        "compiled_s": compiled,
        "compiled_cold_over_eager": compiled[0] / min(eager),
        "compiled_over_eager": min(warm) / min(eager),
    }


def figure_demo_startup(args, quick: bool) -> dict:
    """``deepdream demo`` wall time (a fresh process, from the shell) / the time of its dream loop alone.

    The loop alone is ``deep_dream_image`` with the demo's arguments on a network already
    loaded and truncated in a fresh process (the same work the demo's loop does), which also
    times each step before and after it (``breakdown``: imports of torch, onnx2torch and the
    rest, load, conversion, loop, write; and python's start-up) and the ``floor`` (start-up +
    torch + onnx2torch imports + loop) / loop; see :mod:`benchmarks.demo_probe`.
    """
    command = [sys.executable, "-m", "benchmarks.demo_probe", "--device", args.device]
    if quick:
        command += ["--model", str(args.model), "--layer", args.layer, "--quick"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"demo probe failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


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
        lines.append(row.format("  same, bare pass in the port's layout", f"{r['ratio_same_layout']:.3f}", ""))
    b = f.get("batched_vs_loop")
    if b:
        lines.append(
            row.format(
                f"2 MATLAB loop / port, {b['start_size']}² {b['device']} ({b['matlab_loop_s']:.1f} / {b['port_s']:.1f} s; "
                f"warm-up {b['warmup_s']:.1f} s)",
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
        for key, what in (("port_module", "on the port's module"), ("lucent_user_module", "on plain onnx2torch")):
            r = lucent[key]
            lines.append(
                row.format(
                    f"3 port / lucent per step, {what} ({r['port_iteration_s'] * 1e3:.0f} / "
                    f"{r['seconds_per_step'] * 1e3:.0f} ms)",
                    f"{r['ratio']:.2f}",
                    verdict("port_vs_lucent", r["ratio"]),
                )
            )
        lines.append(f"  ({lucent['port_module']['implementation']})")
    h = f.get("host_state_memory")
    if h:
        sizes = " / ".join(f"{r['size']}²" for r in h["sizes"])
        peaks = " / ".join(f"{r['peak_mib']:.0f}" for r in h["sizes"])
        what = "device peak" if h["device"].startswith("cuda") else "peak RSS less the K-image state"
        lines.append(row.format(f"4b host state, K={h['k']}: {what} {sizes}", f"{peaks} MiB", ""))
        lines.append(
            row.format(
                "4b largest / smallest",
                f"{h['host_state_ratio']:.2f}",
                verdict("host_state_memory", h["host_state_ratio"]),
            )
        )
    lf = f.get("memory_format")
    if lf:
        for key in ("float32", "float64"):
            if key in lf:
                r = lf[key]
                lines.append(
                    row.format(
                        f"6 {key} channels_last / default ({r['channels_last_s'] * 1e3:.0f} / {r['default_s'] * 1e3:.0f} ms)",
                        f"{r['channels_last_over_default']:.2f}",
                        f"chosen: {r['chosen'].replace('torch.', '')}",
                    )
                )
    d = f.get("demo_startup")
    if d:
        lines.append(
            row.format(
                f"7 demo wall / its loop ({d['demo_wall_s']:.1f} / {d['loop_s']:.1f} s)",
                f"{d['ratio']:.2f}",
                verdict("demo_startup", d["ratio"]),
            )
        )
        b = d.get("breakdown")
        if b:
            steps = ", ".join(f"{key[:-2].replace('_', ' ')} {value:.2f}" for key, value in b.items())
            lines.append(
                row.format(f"7 floor (python + torch + onnx2torch + loop) / loop; s: {steps}", f"{d['floor']:.2f}", "")
            )
    bs = f.get("batch_sizes")
    if bs:
        per_tile = " / ".join(f"{r['max_batch']}: {r['seconds_per_tile'] * 1e3:.0f}" for r in bs["rows"])
        lines.append(row.format(f"8 ms per tile by max_batch ({per_tile})", f"best {bs['fastest']}", ""))
    c = f.get("compile")
    if c:
        lines.append(
            row.format(
                f"9 compiled / eager iteration ({c['compiled_iteration_s'] * 1e3:.0f} / {c['eager_iteration_s'] * 1e3:.0f} ms)",
                f"{c['compiled_over_eager']:.2f}",
                f"compile {c['compile_s']:.0f} s (cached {c['compile_warm_s']:.0f} s), "
                + (
                    f"pays after {c['break_even_iterations']:.0f} it"
                    if c["break_even_iterations"] is not None
                    else "never pays"
                ),
            )
        )
        for backend, b in c["cold"].get("bare_backends", {}).items():
            lines.append(
                row.format(
                    f"9 bare pass {backend} / eager ({b['compiled_s'] * 1e3:.0f} / {b['eager_s'] * 1e3:.0f} ms)",
                    f"{b['ratio']:.2f}",
                    f"first call {b['first_s']:.1f} s",
                )
            )
        if "demo" in c:
            dm = c["demo"]
            lines.append(
                row.format(
                    f"9 demo --compile / demo ({dm['compiled_s'][-1]:.0f} / {min(dm['eager_s']):.0f} s)",
                    f"{dm['compiled_over_eager']:.2f}",
                    f"first (compiling) {dm['compiled_cold_over_eager']:.2f}",
                )
            )
    oc = f.get("op_count")
    if oc and "rows" in oc:
        for r in oc["rows"]:
            if r["batching"] == "one_batch":
                lines.append(
                    row.format(
                        f"10 aten ops / bare pass, {r['size']}², one batch ({r['iteration_ops']} / {r['bare_ops']})",
                        f"{r['ratio']:.2f}",
                        verdict("op_count", r["ratio"]),
                    )
                )
    g = f.get("graphs")
    if g:
        for key in ("one_tile", "four_tiles"):
            r = g[key]
            lines.append(
                row.format(
                    f"11 replayed / eager iteration, {r['size']}² ({r['graphs_iteration_s'] * 1e3:.1f} / "
                    f"{r['eager_iteration_s'] * 1e3:.1f} ms)",
                    f"{r['ratio']:.2f}",
                    f"same numbers: {r['same_numbers']}, capture {r['capture_s']:.2f} s",
                )
            )
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
    p = f.get("precision_threads")
    if not p:
        return "\n".join(lines)
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
        "--quick",
        action="store_true",
        help="smoke-test sizes, no meaningful timings; without --model on tinynet (relu2, K 4): under a minute",
    )
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--model", type=Path, help="default EfficientNet-Lite0 (tinynet with --quick)")
    parser.add_argument("--layer", help=f"default {DEFAULT_LAYER} (relu2 on tinynet)")
    parser.add_argument("--k", type=int, help="channels (batch of images), default 8 (4 on tinynet)")
    parser.add_argument("--tile-size", type=int, default=None, help="override the network's input size")
    parser.add_argument("--max-batch", type=int, default=8, help="batch limit for the memory figure")
    parser.add_argument("--memory-sizes", default=None, help="comma-separated sizes (default 224,512,1024,2048)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batched-size", type=int, default=None, help="figure 2 start size (default 2 tiles)")
    parser.add_argument(
        "--host-state-sizes", default=None, help="figure 4b sizes with host-side image state (default 224,4096)"
    )
    parser.add_argument("--compile", action="store_true", help="also figure 9: torch.compile time against its gain")
    parser.add_argument(
        "--graphs", action="store_true", help="also figure 11 off CUDA (replayed iterations; on by default on CUDA)"
    )
    parser.add_argument("--host-state-k", type=int, default=8, help="figure 4b channels (default 8)")
    parser.add_argument(
        "--skip",
        default="",
        help="comma-separated figures to skip: "
        "lucent,memory,host_memory,batched,layout,layout64,batch_sizes,demo,graphs,op_count,precision",
    )
    args = parser.parse_args(argv)
    smoke = args.quick and args.model is None  # the smoke run's network: seconds, not minutes, per figure
    args.model = (SMOKE_MODEL if smoke else DEFAULT_MODEL) if args.model is None else args.model
    args.layer = args.layer or (SMOKE_LAYER if smoke else DEFAULT_LAYER)
    args.k = (SMOKE_K if smoke else 8) if args.k is None else args.k
    return args


def main(argv=None) -> int:
    args = parse(argv)
    if not args.model.exists():
        print(f"model {args.model} not found: run ./dev setup, or pass --model and --layer", file=sys.stderr)
        return 2
    skip = set(filter(None, args.skip.split(",")))
    device = torch.device(args.device)
    with ieee_float32(device):  # the doors' precision mode: IEEE float32 convolutions and products on CUDA
        return _run_figures(args, skip, device)


def _run_figures(args, skip: set, device: torch.device) -> int:
    started = time.perf_counter()
    setup = load_setup(args.model, args.layer, args.k, torch.float32, device, args.tile_size)
    figures: dict = {}
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
        "wall_s": 0.0,
    }

    def keep(name: str, value: dict) -> None:
        """Record a figure and write the JSON so far (a run stopped by a time limit keeps what it measured)."""
        figures[name] = value
        results["wall_s"] = time.perf_counter() - started
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))

    keep("overhead", figure_overhead(setup, args.quick))
    port_step = figures["overhead"]["one_tile"]["iteration_s"]
    if "batched" not in skip:
        keep("batched_vs_loop", figure_batched(setup, args.quick, args.batched_size))
    if args.graphs or (device.type == "cuda" and "graphs" not in skip):
        keep("graphs", figure_graphs(setup, args.quick))
    if "layout" not in skip:
        keep("memory_format", figure_memory_format(setup, args, args.quick))
    if "batch_sizes" not in skip:
        keep("batch_sizes", figure_batch_sizes(setup, args.quick))
    if "lucent" not in skip:
        keep("port_vs_lucent", figure_lucent(setup, args, args.quick))
    if "precision" not in skip:
        keep("precision_threads", figure_precision_threads(args, setup, args.quick, port_step))
    if "memory" not in skip:
        if args.memory_sizes:
            sizes = [int(s) for s in args.memory_sizes.split(",")]
        elif args.quick:
            sizes = [setup.tile_size, 4 * setup.tile_size]
        else:
            sizes = [224, 512, 1024, 2048]
        keep("memory", figure_memory(args, setup, sizes))
    if "host_memory" not in skip:
        if args.host_state_sizes:
            sizes = [int(s) for s in args.host_state_sizes.split(",")]
        elif args.quick:
            sizes = [setup.tile_size, 4 * setup.tile_size]
        else:
            sizes = [224, 4096]
        keep("host_state_memory", figure_memory(args, setup, sizes, host_state=True))
    if "demo" not in skip:
        keep("demo_startup", figure_demo_startup(args, args.quick))
    if args.compile:
        keep("compile", figure_compile(args, args.quick, skip))
    if "op_count" not in skip and not args.quick:
        keep("op_count", figure_op_count(setup) if device.type == "cpu" else {"skipped": "counted on the CPU"})
    results["wall_s"] = time.perf_counter() - started
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    print(table(results))
    print(f"\n(total {results['wall_s']:.0f} s)")
    return 0

"""The GPU check of issue 17 as one prepared run: ``benchmarks/gpu_check.sh`` calls ``python -m benchmarks.gpu_check``.

Every step is its own process with its own time limit (a hung or failed step costs only itself), and
the results are written as they come (``results.json`` is rewritten after every step), within an
overall budget (default 450 s, under the 8 minutes a device machine is lent for). At the end ``$OUT``
holds at most four files: ``results.json`` (every step's JSON, status and seconds, the date, the GPU
and torch), ``README.md`` (the table of figures against the issue's targets), ``logs.tar.gz`` (each
step's command, stdout and stderr) and ``demo.png``.

``--cpu-dry-run`` runs every step on the CPU at tiny sizes (tinynet), so the script itself is tested
without a GPU (``tests/test_gpu_check.py``); CUDA-only measurements say "skipped" there.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "efficientnet_lite0.onnx"
LAYER = "_blocks/10/Add"
TINYNET = REPO / "parity" / "reference" / "models" / "tinynet.onnx"
CASES = REPO / "parity" / "reference" / "cases"
MODELS = REPO / "parity" / "reference" / "models"
ATLAS_LINE = re.compile(r"(\d+)/(\d+) units done, (\d+) failed; \d+ rendered now in ([\d.]+) s \(([\d.]+) units/min\)")


@dataclass
class Step:
    """One step: its command on the GPU and in the dry run (``{py}``, ``{out}``, ``{tmp}``, ``{device}`` filled in)."""

    name: str
    gpu: list
    dry: list
    limit_s: int
    parse: str = "json"  # json: the last JSON line; jsonl: every line; whole: all stdout; atlas; file:NAME; none
    what: str = ""


def steps() -> list[Step]:
    py = "{py}"
    bench = [py, "-m", "benchmarks"]
    gpu_steps = [py, "-m", "benchmarks.gpu_steps"]
    tiny = ["--model", str(TINYNET), "--layer", "relu2"]
    effnet = ["--model", str(MODEL), "--layer", LAYER]
    one_case = [str(CASES / "tinynet_relu2_single_level.mat")]
    atlas = [py, "-m", "deepdreamport", "atlas", "--no-gallery", "--quiet", "--max-attempts", "1", "--out"]
    return [
        Step(
            "device",
            [*gpu_steps, "device", "--device", "{device}"],
            [*gpu_steps, "device", "--device", "{device}"],
            60,
            what="GPU, torch",
        ),  # fmt: skip
        Step(
            "parity",
            [
                py,
                "-m",
                "deepdreamport",
                "parity",
                str(CASES),
                "--models",
                str(MODELS),
                "--device",
                "{device}",
                "--json",
            ],
            [py, "-m", "deepdreamport", "parity", *one_case, "--models", str(MODELS), "--device", "{device}", "--json"],
            90,
            parse="jsonl",
            what="MATLAB parity suite on the device, IEEE float32 (eager)",
        ),
        Step(
            "sync",
            [py, "-m", "benchmarks.gpu_steps", "sync", "--device", "{device}", *effnet],
            [py, "-m", "benchmarks.gpu_steps", "sync", "--device", "{device}", *tiny, "--quick"],
            60,
            what="host synchronisations in 5 iterations, eager and replayed",
        ),
        Step(
            "parity_graphs",
            [py, "-m", "benchmarks.gpu_steps", "parity_graphs", "--device", "{device}"],
            [py, "-m", "benchmarks.gpu_steps", "parity_graphs", "--device", "{device}", "--quick"],
            120,
            what="parity suite with replayed levels (CUDA Graphs), identical to eager?",
        ),
        Step(
            "first_call",
            [py, "-m", "benchmarks.first_call", "--device", "{device}", *effnet],
            [py, "-m", "benchmarks.first_call", "--device", "{device}", *tiny, "--levels", "2", "--iterations", "2"],
            90,
            what="first deep_dream_image call in a process, by part",
        ),
        Step(
            "kernel_time",
            [py, "-m", "benchmarks.gpu_steps", "kernel_time", "--device", "{device}", *effnet],
            [py, "-m", "benchmarks.gpu_steps", "kernel_time", "--device", "{device}", *tiny, "--quick"],
            90,
            what="GPU kernel time / wall time, warm demo-size dream",
        ),
        Step(
            "figures",
            [
                *bench,
                "--device",
                "{device}",
                "--k",
                "8",
                "--batched-size",
                "896",
                "--json",
                "{tmp}/figures.json",
                "--skip",
                "memory,host_memory,layout64,batch_sizes,demo,op_count",
            ],  # fmt: skip
            [
                *bench,
                "--device",
                "{device}",
                "--quick",
                *tiny,
                "--k",
                "4",
                "--graphs",
                "--json",
                "{tmp}/figures.json",
                "--skip",
                "lucent,memory,host_memory,layout,batch_sizes,demo",
            ],  # fmt: skip
            240,
            parse="file:figures.json",
            what="figures 1, 2 (896², K = 8), 3, 5, 6, 11",
        ),
        Step(
            "atlas_matlab",
            [*atlas, "{tmp}/atlas-matlab", str(MODEL), "--layers", LAYER, "--channels", "1:32", "--batch", "32"],
            [
                *atlas,
                "{tmp}/atlas-matlab",
                str(TINYNET),
                "--layers",
                "relu2",
                "--channels",
                "1:2",
                "--batch",
                "2",
                "--levels",
                "1",
                "--iterations",
                "2",
                "--workers",
                "1",
            ],  # fmt: skip
            90,
            parse="atlas",
            what="atlas units per minute, matlab recipe",
        ),
        Step(
            "atlas_lucid",
            [
                *atlas,
                "{tmp}/atlas-lucid",
                str(MODEL),
                "--layers",
                LAYER,
                "--channels",
                "1:32",
                "--recipe",
                "lucid",
                "--size",
                "128",
                "--steps",
                "256",
                "--batch",
                "32",
            ],  # fmt: skip
            [
                *atlas,
                "{tmp}/atlas-lucid",
                str(TINYNET),
                "--layers",
                "relu2",
                "--channels",
                "1:2",
                "--recipe",
                "lucid",
                "--size",
                "32",
                "--steps",
                "2",
                "--batch",
                "2",
                "--workers",
                "1",
            ],  # fmt: skip
            90,
            parse="atlas",
            what="atlas units per minute, lucid recipe (128², 256 steps)",
        ),
        Step(
            "optvis",
            [py, "-m", "benchmarks.optvis_bench", "--speed-only", "--device", "{device}", "--repeats", "3"],
            [py, "-m", "benchmarks.optvis_bench", "--speed-only", "--quick", "--device", "{device}", *tiny],
            90,
            parse="whole",
            what="render / lucent render_vis per step, 224², batch 8",
        ),
        Step(
            "demo",
            [py, "-m", "deepdreamport", "demo", "--device", "{device}", "--out", "{out}/demo.png"],
            [
                py,
                "-m",
                "deepdreamport",
                "demo",
                "--device",
                "{device}",
                *tiny,
                "--levels",
                "1",
                "--iterations",
                "1",
                "--out",
                "{out}/demo.png",
            ],  # fmt: skip
            60,
            parse="none",
            what="deepdream demo, wall time",
        ),
        Step(
            "libraries",
            [py, "-m", "benchmarks.first_call", "--libraries", "--device", "{device}"],
            None,
            45,
            what="cuda init, first convolution (cuDNN), first matmul (cuBLAS)",
        ),
        Step(
            "batch",
            [py, "-m", "benchmarks.gpu_steps", "batch", "--device", "{device}", *effnet],
            [py, "-m", "benchmarks.gpu_steps", "batch", "--device", "{device}", *tiny, "--quick"],
            45,
            what="batch the memory guard picks for K = 64 at 2048²",
        ),
        Step(
            "parity_record",
            [py, "-m", "benchmarks.gpu_steps", "parity_record", "--device", "{device}"],
            [py, "-m", "benchmarks.gpu_steps", "parity_record", "--device", "{device}"],
            45,
            what="parity record on the device, then checked there",
        ),
    ]


@dataclass
class Run:
    out: Path
    python: str
    device: str
    dry_run: bool
    budget_s: float
    started: float = field(default_factory=time.perf_counter)
    results: dict = field(default_factory=dict)
    logs: dict = field(default_factory=dict)

    def remaining(self) -> float:
        return self.budget_s - (time.perf_counter() - self.started)


def _parse(step: Step, stdout: str, tmp: Path):
    if step.parse == "none":
        return None
    if step.parse == "atlas":
        found = ATLAS_LINE.search(stdout)
        if not found:
            return None
        done, total, failed, seconds, rate = found.groups()
        return {"done": int(done), "units": int(total), "failed": int(failed), "seconds": float(seconds),
                "units_per_minute": float(rate)}  # fmt: skip
    if step.parse.startswith("file:"):
        path = tmp / step.parse[5:]
        return json.loads(path.read_text()) if path.exists() else None
    if step.parse == "whole":
        return json.loads(stdout[stdout.index("{") :]) if "{" in stdout else None
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if step.parse == "jsonl":
        return [json.loads(line) for line in lines]
    return json.loads(lines[-1]) if lines else None


def run_step(run: Run, step: Step, tmp: Path, env: dict) -> dict:
    template = step.dry if run.dry_run else step.gpu
    if template is None:
        return {"status": "skipped", "why": "needs CUDA"}
    fill = {"{py}": run.python, "{out}": str(run.out), "{tmp}": str(tmp), "{device}": run.device}
    command = [_fill(word, fill) for word in template]
    limit = min(step.limit_s, run.remaining() - 10)
    if limit < 1:
        return {"status": "skipped", "why": "out of the time budget"}
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=limit)
        status, stdout, stderr = (
            ("ok" if done.returncode == 0 else f"failed ({done.returncode})"),
            done.stdout,
            done.stderr,
        )
    except subprocess.TimeoutExpired as expired:
        status = f"timed out after {limit:.0f} s"
        stdout = _text(expired.stdout)
        stderr = _text(expired.stderr)
    seconds = time.perf_counter() - start
    run.logs[step.name] = f"$ {' '.join(command)}\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n"
    try:
        result = _parse(step, stdout, tmp)
    except (ValueError, OSError) as error:
        result, status = None, f"{status}; unreadable result: {error}"
    entry = {"status": status, "seconds": round(seconds, 2), "what": step.what, "result": result}
    if status != "ok":
        entry["stderr_tail"] = stderr[-1500:]
    return entry


def _fill(word: str, fill: dict) -> str:
    for key, value in fill.items():
        word = word.replace(key, value)
    return word


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _get(results: dict, *path, default=None):
    value = results
    for key in path:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and len(value) > key:
            value = value[key]
        else:
            return default
    return value


def _number(value, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "—"


def table(run: Run, header: dict) -> str:
    """The README table: each figure against the issue's target."""
    r = run.results
    rows: list[tuple[str, str, str]] = []

    def add(what: str, value: str, target: str = "") -> None:
        rows.append((what, value, target))

    parity = _get(r, "parity", "result") or []
    add("MATLAB parity suite on the device (eager)", f"{sum(bool(c.get('passed')) for c in parity)}/{len(parity)} pass")
    pg = _get(r, "parity_graphs", "result") or {}
    add(
        "parity with replayed levels: pass / identical to eager",
        f"{pg.get('all_passed', '—')} / {pg.get('all_identical_to_eager', '—')}",
        "identical before `graphs` goes on",
    )
    add("parity record + check on the device", str(_get(r, "parity_record", "result", "passed", default="—")))
    sync = _get(r, "sync", "result") or {}
    add(
        "host synchronisations in 5 iterations, eager / replayed",
        f"{_get(sync, 'eager', 'synchronisations', default='—')} / {_get(sync, 'graphs', 'synchronisations', default='—')}",
        "<= 1",
    )
    for mode in ("eager", "graphs"):
        add(
            f"GPU kernel time / wall, warm demo-size dream, {mode}",
            _number(_get(r, "kernel_time", "result", mode, "kernel_over_wall")),
            ">= 0.70",
        )
    fc = _get(r, "first_call", "result") or {}
    add("first deep_dream_image call beyond torch.cuda.init() (s)", _number(fc.get("first_call_s")), "<= 2")
    for part, seconds in (fc.get("first_call_parts") or {}).items():
        add(f"  of which {part[:-2].replace('_', ' ')} (s)", _number(seconds))
    add("  second call (s)", _number(fc.get("second_call_s")))
    lib = _get(r, "libraries", "result") or {}
    add(
        "torch.cuda.init / first convolution / first matmul (s)",
        " / ".join(_number(lib.get(k)) for k in ("cuda_init_s", "first_convolution_s", "first_matmul_s")),
    )
    figures = _get(r, "figures", "result", "figures") or {}
    for key in ("one_tile", "four_tiles"):
        add(
            f"figure 1: iteration / bare pass, {key.replace('_', ' ')}",
            _number(_get(figures, "overhead", key, "ratio")),
            "<= 1.2",
        )
    b = figures.get("batched_vs_loop") or {}
    add("figure 2: MATLAB loop / port at 896², K = 8", _number(b.get("ratio")), ">= 5")
    add(
        "  same numbers: one pass, max rel. gradient difference",
        _number(b.get("max_relative_gradient_difference_one_pass"), 8),
    )
    add("  warm-up excluded from figure 2 (s)", _number(b.get("warmup_s")))
    add("figure 3: port / lucent per step", _number(_get(figures, "port_vs_lucent", "ratio")), "<= 0.6")
    for key in ("one_tile", "four_tiles"):
        g = _get(figures, "graphs", key) or {}
        add(
            f"figure 11: replayed / eager iteration, {key.replace('_', ' ')}",
            _number(g.get("ratio")),
            f"same numbers: {g.get('same_numbers', '—')}",
        )
    ov = _get(r, "optvis", "result", "speed") or {}
    add("render / lucent render_vis per step, 224², batch 8", _number(ov.get("port_over_lucent")))
    for name in ("atlas_matlab", "atlas_lucid"):
        a = _get(r, name, "result") or {}
        target = ">= 2,000" if name == "atlas_matlab" else ">= 1,000"
        add(
            f"atlas units per minute, {name[6:]} recipe ({a.get('done', '—')}/{a.get('units', '—')} done)",
            _number(a.get("units_per_minute"), 0),
            target,
        )
    add("deepdream demo wall (s)", _number(_get(r, "demo", "seconds")))
    add("batch picked for K = 64 at 2048²", str(_get(r, "batch", "result", "chosen_max_batch", default="—")))
    lines = [
        f"# GPU check, {header['date']}",
        "",
        f"{header['gpu']}; torch {header['torch']} (CUDA {header['cuda']}); commit {header['commit']}; "
        f"{'CPU DRY RUN (tiny sizes)' if run.dry_run else 'device ' + run.device}; {header['seconds']:.0f} s in all.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        *[f"| {what} | {value} | {target} |" for what, value, target in rows],
        "",
        "| step | status | seconds |",
        "|---|---|---|",
        *[f"| {name} | {entry['status']} | {entry.get('seconds', '—')} |" for name, entry in r.items()],
        "",
    ]
    return "\n".join(lines)


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def _write(run: Run, header: dict) -> None:
    (run.out / "results.json").write_text(json.dumps({**header, "steps": run.results}, indent=1, default=str))


def main(argv=None, on_step: Optional[Callable[[str, dict], None]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "out" / "gpu-check")
    parser.add_argument("--cpu-dry-run", action="store_true", help="every step on the CPU at tiny sizes")
    parser.add_argument("--budget", type=float, default=450.0, help="seconds for all steps (default 450)")
    parser.add_argument("--only", default="", help="comma-separated steps to run (default: all)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    run = Run(args.out, sys.executable, "cpu" if args.cpu_dry_run else "cuda", args.cpu_dry_run, args.budget)
    wanted = set(filter(None, args.only.split(",")))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    header = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": _commit(),
              "dry_run": run.dry_run, "gpu": "—", "torch": "—", "cuda": "—", "seconds": 0.0}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        for step in steps():
            if wanted and step.name not in wanted:
                continue
            print(f"== {step.name}: {step.what} ({time.strftime('%H:%M:%S')})", flush=True)
            entry = run_step(run, step, Path(folder), env)
            run.results[step.name] = entry
            if step.name == "device" and isinstance(entry.get("result"), dict):
                device = entry["result"]
                header.update(gpu=device.get("gpu", "CPU"), torch=device.get("torch"), cuda=device.get("cuda"))
            header["seconds"] = time.perf_counter() - run.started
            _write(run, header)  # as they come
            print(f"   {entry['status']}, {entry.get('seconds', 0)} s", flush=True)
            if on_step is not None:
                on_step(step.name, entry)
    header["seconds"] = time.perf_counter() - run.started
    _write(run, header)
    (run.out / "README.md").write_text(table(run, header))
    with tarfile.open(run.out / "logs.tar.gz", "w:gz") as archive:
        for name, text in run.logs.items():
            data = text.encode()
            info = tarfile.TarInfo(f"logs/{name}.log")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    print((run.out / "README.md").read_text())
    failed = [name for name, entry in run.results.items() if entry["status"] not in ("ok", "skipped")]
    print(f"done in {header['seconds']:.0f} s; failed: {', '.join(failed) or 'none'}; results in {run.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

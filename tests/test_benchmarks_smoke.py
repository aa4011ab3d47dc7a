"""Smoke test of ``./dev bench --quick`` (``python -m benchmarks --quick``: tinynet): it runs and reports every figure
(no timings asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_quick_benchmark_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)]  # ./dev bench --quick
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    assert Path(results["model"]).name == "tinynet.onnx" and (results["layer"], results["k"]) == ("relu2", 4)
    figures = results["figures"]
    assert set(figures) >= {
        "overhead",
        "batched_vs_loop",
        "port_vs_lucent",
        "memory",
        "host_state_memory",
        "memory_format",
        "batch_sizes",
        "demo_startup",
        "precision_threads",
    }
    for name in ("overhead", "batched_vs_loop", "port_vs_lucent", "memory", "host_state_memory", "demo_startup"):
        assert figures[name]["ratio"] > 0, name
    assert figures["host_state_memory"]["host_state"] and figures["host_state_memory"]["host_state_ratio"] > 0
    assert figures["memory_format"]["float32"]["channels_last_over_default"] > 0
    assert figures["batch_sizes"]["fastest"] in [row["max_batch"] for row in figures["batch_sizes"]["rows"]]
    # the reference loop and the batched port compute the same numbers
    assert figures["batched_vs_loop"]["max_relative_gradient_difference_one_pass"] < 1e-4
    assert len(figures["memory"]["sizes"]) >= 2
    assert figures["precision_threads"]["float64_over_float32"] > 0
    assert figures["precision_threads"]["one_thread_over_all"] > 0

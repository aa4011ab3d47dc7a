"""``benchmarks/gpu_check.sh``: the one prepared run of the GPU check, tested without a GPU.

The fast test runs the orchestrator on stand-in steps (a result, a failure, a step over its time limit):
results are written after every step, a hung step costs only its limit, ``$OUT`` ends with at most
the four files the device tool brings back. The slow one runs the real script's CPU dry run on two
of its steps (the shell part, the wheels' installation check, a real step in a fresh process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import pytest

from benchmarks import gpu_check
from tests.conftest import REPO


def test_steps_run_with_their_own_limits_and_results_are_written_as_they_come(tmp_path, monkeypatch) -> None:
    py = "{py}"
    fake = [
        gpu_check.Step("device", [py, "-c", 'print(\'{"gpu": "G", "torch": "T", "cuda": "C"}\')'], None, 10),
        gpu_check.Step(
            "parity", [py, "-c", "print('{\"passed\": true}'); print('{\"passed\": false}')"], None, 10, parse="jsonl"
        ),  # fmt: skip
        gpu_check.Step("broken", [py, "-c", "import sys; sys.exit('no GPU here')"], None, 10),
        gpu_check.Step("hung", [py, "-c", "import time; time.sleep(60)"], None, 2),
        gpu_check.Step(
            "atlas_lucid",
            [py, "-c", "print('3/4 units done, 1 failed; 3 rendered now in 1.5 s (120.0 units/min)')"],
            None,
            10,
            parse="atlas",
        ),  # fmt: skip
    ]
    for step in fake:
        step.dry = step.gpu
    monkeypatch.setattr(gpu_check, "steps", lambda: fake)
    seen = []

    def after_each(name, entry):  # results.json already holds every step run so far
        seen.append(list(json.loads((tmp_path / "results.json").read_text())["steps"]))

    status = gpu_check.main(["--out", str(tmp_path), "--cpu-dry-run", "--budget", "60"], on_step=after_each)
    assert status == 1  # two steps did not succeed
    assert seen == [["device"], ["device", "parity"], ["device", "parity", "broken"],
                    ["device", "parity", "broken", "hung"], ["device", "parity", "broken", "hung", "atlas_lucid"]]  # fmt: skip
    results = json.loads((tmp_path / "results.json").read_text())
    steps = results["steps"]
    assert results["gpu"] == "G" and results["torch"] == "T" and results["date"]
    assert steps["parity"]["result"] == [{"passed": True}, {"passed": False}]
    assert steps["broken"]["status"].startswith("failed") and "no GPU here" in steps["broken"]["stderr_tail"]
    assert steps["hung"]["status"].startswith("timed out") and steps["hung"]["seconds"] < 20
    assert steps["atlas_lucid"]["result"]["units_per_minute"] == 120.0
    readme = (tmp_path / "README.md").read_text()
    assert "| MATLAB parity suite on the device (eager) | 1/2 pass |" in readme
    assert "120" in readme and "G; torch T" in readme
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "logs.tar.gz", "results.json"]
    with tarfile.open(tmp_path / "logs.tar.gz") as archive:
        assert {m.name for m in archive.getmembers()} == {f"logs/{s.name}.log" for s in fake}


@pytest.mark.slow
def test_the_script_dry_run_on_the_cpu(tmp_path) -> None:
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path)}
    done = subprocess.run(
        [str(REPO / "benchmarks" / "gpu_check.sh"), "--cpu-dry-run", "--only", "device,batch"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["dry_run"] and set(results["steps"]) == {"device", "batch"}
    assert results["steps"]["device"]["result"]["device"] == "cpu"
    assert results["steps"]["batch"]["status"] == "ok"
    assert len(list(tmp_path.iterdir())) <= 8

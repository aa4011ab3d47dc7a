"""The Ray engine on a real local Ray instance: rendering, the same bytes as the local engine, a killed actor."""

from __future__ import annotations

import os
import signal

import pytest

from deepdreamport.atlas import run_atlas

from .conftest import TINYNET, assert_complete, run_atlas_in_thread, run_inline, wait_for_victim

OPTIONS = dict(layers="conv2", recipe="matlab,lucid", params={"levels": 1, "iterations": 2, "steps": 2, "size": 32})


def test_ray_engine_renders_every_unit_once_with_the_local_engines_bytes(tmp_path, ray_instance):
    summary = run_atlas(TINYNET, tmp_path / "ray", engine="ray", workers=2, batch=2, gallery=False, **OPTIONS)
    assert (summary.total, summary.done, summary.failed) == (12, 12, 0)
    assert summary.examples_chunks == (1, 1)
    rows = assert_complete(tmp_path / "ray", 12)
    assert all(r["worker"].startswith("ray:") and r["attempts"] == 1 for r in rows)
    run_inline(TINYNET, tmp_path / "local", gallery=False, batch=5, **OPTIONS)
    local = {
        (r["layer"], r["channel"], r["recipe"]): r["image_sha256"] for r in assert_complete(tmp_path / "local", 12)
    }
    assert {(r["layer"], r["channel"], r["recipe"]): r["image_sha256"] for r in rows} == local
    assert ray_instance.is_initialized()  # a Ray instance the job did not start is left running


@pytest.mark.slow
def test_sigkill_of_a_ray_worker_mid_job(tmp_path, ray_instance):
    runner, outcome = run_atlas_in_thread(
        tmp_path, layers="conv2,pool2", engine="ray", workers=2, batch=2, params={"levels": 2, "iterations": 10}
    )
    victim = wait_for_victim(tmp_path, runner, lambda worker: worker.startswith("ray:"))
    assert victim is not None, "the job ended before a worker could be killed"
    os.kill(int(victim["worker"].split(":")[1]), signal.SIGKILL)
    runner.join(timeout=300)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["summary"].done == 12
    rows = assert_complete(tmp_path, 12)
    # the killed worker's batch (not necessarily the row seen: it may have moved on) was rendered again elsewhere
    retried = [r for r in rows if r["attempts"] > 1]
    assert retried and all(r["attempts"] == 2 and r["worker"] != victim["worker"] for r in retried)

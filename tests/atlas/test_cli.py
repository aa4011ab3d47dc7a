"""The atlas command end to end: bad input, resume, interrupts, killed workers, verify."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from deepdreamport.atlas import run_atlas
from deepdreamport.atlas.__main__ import main as atlas_main

from .conftest import (
    REPO,
    TINY,
    TINYNET,
    assert_complete,
    atlas_command,
    folder_snapshot,
    run_cli,
    run_inline,
    start_cli,
    unit_rows,
)

DAGNET = REPO / "parity" / "reference" / "models" / "dagnet.onnx"


@pytest.fixture(scope="module")
def reference_atlas(tmp_path_factory) -> Path:
    """A finished two-unit atlas of a private copy of tinynet (so the model can be changed under it)."""
    folder = tmp_path_factory.mktemp("reference")
    model = folder / "tinynet.onnx"
    shutil.copy(TINYNET, model)
    run_inline(model, folder / "atlas", layers="conv2", channels="1:2", params={"levels": 1, "iterations": 2})
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _case(name: str, tmp_path: Path, reference: Path):
    """(arguments, folder whose content must not change, text the error must contain, prefix)"""
    atlas = tmp_path / "atlas"
    shutil.copytree(reference / "atlas", atlas)
    model = tmp_path / "tinynet.onnx"
    shutil.copy(reference / "tinynet.onnx", model)
    base = [str(model), "--out", str(atlas), "--layers", "conv2", "--channels", "1:2", *TINY, "--workers", "1"]
    prefix: list[str] = []
    if name == "unknown layer":
        return base + ["--layers", "conv2,nope"], atlas, "--layers: unknown layer 'nope'", prefix
    if name == "empty channels":
        return base + ["--channels", ""], atlas, "--channels: the selection is empty", prefix
    if name == "shard 3/2":
        return base + ["--shard", "3/2"], atlas, "--shard", prefix
    if name == "out is a file":
        a_file = tmp_path / "a_file"
        a_file.write_text("not a folder")
        return [str(model), "--out", str(a_file)], tmp_path, "is a file, not a folder", prefix
    if name == "read-only out":
        os.chmod(atlas, 0o555)
        if os.geteuid() == 0:  # root writes anywhere unless it gives up that privilege
            prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
        return base, atlas, "--out", prefix
    if name == "newer schema":
        connection = sqlite3.connect(atlas / "atlas.sqlite")
        connection.execute("PRAGMA user_version = 7")
        connection.commit(), connection.close()
        return base, atlas, "schema 7, newer than this package's 2", prefix
    if name == "folder of the user's files":
        site = tmp_path / "site"
        site.mkdir()
        (site / "index.html").write_text("<p>my own page</p>")
        return [str(model), "--out", str(site), "--new"], tmp_path, "holds files (index.html) but no atlas", prefix
    if name == "examples without a readable image":
        folder = tmp_path / "broken-images"
        folder.mkdir()
        (folder / "a.jpg").write_bytes(b"not a jpeg")
        return base + ["--examples", str(folder)], tmp_path, "--examples: ", prefix
    if name == "examples folder missing":
        return base + ["--examples", str(tmp_path / "nowhere")], atlas, "--examples: ", prefix
    if name == "parameter of no chosen recipe":
        return base + ["--steps", "5"], atlas, "--steps: recipe 'matlab' has no parameter 'steps'", prefix
    if name == "recipe named twice":
        return base + ["--recipe", "matlab,lucid,matlab"], atlas, "--recipe: 'matlab' named twice", prefix
    if name == "unknown recipe":
        return base + ["--recipe", "matlab,nope"], atlas, "--recipe: unknown recipe 'nope'", prefix
    if name == "silent ray address":
        fresh = tmp_path / "fresh"
        return (
            [str(model), "--out", str(fresh), "--engine", "ray", "--ray-address", f"127.0.0.1:{_free_port()}"],
            tmp_path,
            "--ray-address: no Ray cluster answers",
            prefix,
        )
    if name == "model changed":
        shutil.copy(DAGNET, model)
        return base, atlas, "the model changed", prefix
    raise AssertionError(name)


BAD_INPUTS = [
    "unknown layer",
    "empty channels",
    "shard 3/2",
    "out is a file",
    "read-only out",
    "newer schema",
    "silent ray address",
    "model changed",
    "folder of the user's files",
    "examples without a readable image",
    "examples folder missing",
    "parameter of no chosen recipe",
    "recipe named twice",
    "unknown recipe",
]


@pytest.mark.parametrize("name", BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(name, tmp_path, reference_atlas, capsys):
    arguments, watched, expected, prefix = _case(name, tmp_path, reference_atlas)
    before = folder_snapshot(watched)
    started = time.monotonic()
    if prefix:  # a process without root's privilege over permissions
        result = subprocess.run(
            prefix + atlas_command("atlas", *arguments),
            capture_output=True,
            text=True,
            timeout=120,
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
        )
        status, stderr = result.returncode, result.stderr
    else:  # in-process through the command's entry point: the same code, without a torch import per case
        status = atlas_main(["atlas", *arguments])
        stderr = capsys.readouterr().err
    assert time.monotonic() - started < 60
    assert status == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deepdream atlas: error: "), stderr
    assert expected in lines[0]
    assert folder_snapshot(watched) == before
    assert not (tmp_path / "fresh").exists()


def test_changed_recipe_parameters_are_refused_unless_new(tmp_path, reference_atlas, capsys):
    atlas = tmp_path / "atlas"
    shutil.copytree(reference_atlas / "atlas", atlas)
    model = reference_atlas / "tinynet.onnx"
    common = [str(model), "--out", str(atlas), "--layers", "conv2", "--levels", "1", "--iterations", "3", "--quiet"]
    assert atlas_main(["atlas", *common, "--channels", "1:2"]) == 2
    assert "the parameters of recipe 'matlab' changed" in capsys.readouterr().err
    assert atlas_main(["atlas", *common, "--channels", "1", "--workers", "1", "--new", "--no-gallery"]) == 0
    assert_complete(atlas, 1)


def _wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except sqlite3.Error:  # the database is still being created
            value = None
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


# slow enough that a job is still running when the test strikes
LONG_JOB = ["--layers", "conv2,pool2", "--levels", "2", "--iterations", "10", "--batch", "2", "--workers", "1"]
LONG_JOB_UNITS = 6 + 6


@pytest.mark.slow
def test_sigint_then_rerun_resumes_and_finishes(tmp_path):
    atlas = tmp_path / "atlas"
    command = ["atlas", str(TINYNET), "--out", str(atlas), *LONG_JOB, "--quiet", "--no-gallery"]
    process = start_cli(*command)
    _wait_for(lambda: any(r["status"] == "done" for r in unit_rows(atlas)), 120, "a first unit")
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    rows = unit_rows(atlas)
    assert not [r for r in rows if r["status"] == "running"]  # claims handed back on the way out
    done_before = {(r["layer"], r["channel"]) for r in rows if r["status"] == "done"}
    assert 0 < len(done_before) < LONG_JOB_UNITS
    result = run_cli(*command)
    assert result.returncode == 0, result.stderr
    rows = assert_complete(atlas, LONG_JOB_UNITS)
    assert all(r["attempts"] == 1 for r in rows)  # nothing rendered twice


@pytest.mark.slow
def test_sigkill_of_a_worker_mid_job(tmp_path):
    atlas = tmp_path / "atlas"
    process = start_cli("atlas", str(TINYNET), "--out", str(atlas), *LONG_JOB, "--quiet", "--no-gallery")

    def running_worker():
        rows = unit_rows(atlas)
        if not any(r["status"] == "done" for r in rows):
            return None
        return next((r for r in rows if r["status"] == "running" and (r["worker"] or "").startswith("local:")), None)

    victim = _wait_for(running_worker, 120, "a worker holding a unit")
    os.kill(int(victim["worker"].split(":")[1]), signal.SIGKILL)
    _, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stderr
    assert "died" in stderr
    rows = assert_complete(atlas, LONG_JOB_UNITS)
    # the killed worker's batch (not necessarily the row seen: it may have moved on) was rendered again elsewhere
    retried = [r for r in rows if r["attempts"] > 1]
    assert retried and all(r["attempts"] == 2 and r["worker"] != victim["worker"] for r in retried)


def test_verify_reports_and_rerenders_a_corrupt_image(tmp_path, reference_atlas, capsys):
    atlas = tmp_path / "atlas"
    shutil.copytree(reference_atlas / "atlas", atlas)
    rows = unit_rows(atlas)
    victim = atlas / rows[1]["image_path"]
    victim.write_bytes(victim.read_bytes()[:20])  # a torn write
    assert atlas_main(["atlas", "--verify", str(atlas), "--workers", "1", "--quiet"]) == 0
    report = capsys.readouterr().out
    assert f"damaged: conv2 unit 2 (matlab): {rows[1]['image_path']}" in report
    assert "1 damaged image(s) found and rendered again" in report
    after = assert_complete(atlas, 2)
    assert after[1]["image_sha256"] == rows[1]["image_sha256"]  # same seed, same image
    assert after[0]["finished"] == rows[0]["finished"]  # the intact unit was left alone
    capsys.readouterr()
    assert atlas_main(["atlas", "--verify", str(atlas), "--quiet"]) == 0
    assert "every image is intact" in capsys.readouterr().out


def test_python_api_resumes_without_rendering_again(tmp_path):
    first = run_atlas(TINYNET, tmp_path, layers=["fc"], params={"levels": 1, "iterations": 2}, batch=2, workers=1)
    assert (first.total, first.done, first.rendered_now) == (5, 5, 5)
    second = run_atlas(TINYNET, tmp_path, layers=["fc"], params={"levels": 1, "iterations": 2}, batch=2, workers=1)
    assert (second.done, second.rendered_now) == (5, 0)
    rows = assert_complete(tmp_path, 5)
    assert all(r["attempts"] == 1 for r in rows)
    assert (tmp_path / "index.html").is_file()


def test_the_lucid_recipe_renders_units_with_optvis(tmp_path, capsys):
    atlas = tmp_path / "atlas"
    argv = ["atlas", str(TINYNET), "--out", str(atlas), "--layers", "conv2", "--channels", "1:3", "--recipe", "lucid"]
    argv += ["--steps", "2", "--size", "24", "--batch", "3", "--workers", "1", "--quiet", "--no-gallery"]
    assert atlas_main(argv) == 0, capsys.readouterr().err
    rows = assert_complete(atlas, 3)
    assert {r["channel"] for r in rows} == {1, 2, 3}
    assert atlas_main([*argv[:-2], "--levels", "2"]) == 2  # a parameter of another recipe
    assert "--levels: recipe 'lucid' has no parameter 'levels'; recipe 'matlab' takes it" in capsys.readouterr().err


def test_python_errors_name_python_arguments(tmp_path):
    from deepdreamport.atlas import AtlasInputError

    cases = [
        (dict(layers=["nope"]), "layers: unknown layer 'nope'"),
        (dict(channels=[0]), "channels: channels are 1-based"),
        (dict(recipe="matlab", params={"steps": 3}), "params['steps']: recipe 'matlab' has no parameter 'steps'"),
        (dict(params={"levels": 0}), "params['levels']: 0 is out of range"),
        (dict(examples=tmp_path / "nowhere"), "examples: "),
        (dict(batch=0), "batch: expected a positive integer"),
    ]
    for options, expected in cases:
        with pytest.raises(AtlasInputError) as caught:
            run_atlas(TINYNET, tmp_path / "atlas", **options)
        assert str(caught.value).startswith(expected), (options, str(caught.value))
        assert "--" not in str(caught.value).split(":")[0]
    assert not (tmp_path / "atlas").exists()


def test_a_large_atlas_says_its_size_and_time_and_needs_yes(tmp_path, monkeypatch, capsys):
    import deepdreamport.atlas.estimate as estimate

    monkeypatch.setattr(estimate, "CONFIRM_RENDERS", 3)
    argv = ["atlas", str(TINYNET), "--out", str(tmp_path / "atlas"), "--layers", "fc", *TINY, "--quiet"]
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # not a terminal: nothing to ask
    assert atlas_main(argv) == 2
    out, err = capsys.readouterr()
    assert "5 renders left in 1 layers" in out and "; about " in out and "with 2 workers" in out
    assert err.strip().splitlines()[-1].startswith("deepdream atlas: error: --yes: this is a large atlas")
    assert not (tmp_path / "atlas").exists()
    with pytest.raises(Exception, match="yes: this atlas is large: 5 renders left"):
        run_atlas(TINYNET, tmp_path / "atlas", layers="fc", params={"levels": 1, "iterations": 2})
    monkeypatch.setattr(estimate, "CONFIRM_RENDERS", 10_000)
    plan = __import__("deepdreamport.atlas.job", fromlist=["plan_atlas"]).plan_atlas(
        TINYNET, tmp_path / "atlas", layers="all", params={"levels": 1, "iterations": 2}
    )
    assert plan.estimate.renders == 341 and plan.estimate.layers == 8 and plan.estimate.seconds > 0


@pytest.mark.slow
def test_a_script_without_a_main_guard_runs_an_atlas(tmp_path):
    """Worker processes are fresh interpreters: a script that calls run_atlas at the top level is not re-run."""
    script = tmp_path / "script.py"
    script.write_text(
        "from deepdreamport.atlas import run_atlas\n"
        f"summary = run_atlas({str(TINYNET)!r}, {str(tmp_path / 'atlas')!r}, layers=['fc'], channels=[1, 2],\n"
        "                    params={'levels': 1, 'iterations': 2}, workers=1, batch=1, examples=False)\n"
        "print('done', summary.done)\n"
    )
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines() == ["done 2"]  # run once: no worker re-ran the script
    assert_complete(tmp_path / "atlas", 2)


def test_an_interrupt_during_the_gallery_build_finishes_the_gallery_first(tmp_path, monkeypatch):
    """SIGTERM (and SIGINT) while the gallery is written: held until the gallery is whole, then the interrupt."""
    import deepdreamport.atlas.job as job

    real_build = job.build_gallery
    signalled = []

    def build_and_get_killed(out):
        os.kill(os.getpid(), signal.SIGTERM)  # delivered now; the build must go on
        signalled.append(True)
        return real_build(out)

    monkeypatch.setattr(job, "build_gallery", build_and_get_killed)
    with pytest.raises(KeyboardInterrupt):
        run_inline(TINYNET, tmp_path, layers="conv2", channels="1:2", params={"levels": 1, "iterations": 2})
    assert signalled
    rows = assert_complete(tmp_path, 2)
    index = (tmp_path / "index.html").read_text()
    assert "2 of 2 renders done" in index
    for row in rows:
        page = tmp_path / "units" / "005_conv2" / f"unit_{row['channel']:04d}.html"
        assert row["image_path"] in page.read_text()
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None) or callable(signal.getsignal(signal.SIGTERM))


def test_sigterm_mid_run_hands_back_claims_and_leaves_a_current_gallery(tmp_path):
    """SIGTERM (timeout, kill, schedulers) is handled as SIGINT: claims handed back, the gallery up to date."""
    from deepdreamport.atlas.job import execute, plan_atlas

    from .conftest import InlineEngine

    class TerminatedAfterOneTask(InlineEngine):
        def wait(self, timeout):
            outcomes = super().wait(timeout)
            os.kill(os.getpid(), signal.SIGTERM)
            return outcomes

    plan = plan_atlas(TINYNET, tmp_path, layers="conv2", params={"levels": 1, "iterations": 2}, batch=2)
    with pytest.raises(KeyboardInterrupt):
        execute(plan, progress=False, engine=TerminatedAfterOneTask(plan))
    statuses = [r["status"] for r in unit_rows(tmp_path)]
    assert set(statuses) <= {"done", "pending"} and statuses.count("done") <= 2  # one task done, the rest handed back
    assert f"{statuses.count('done')} of 6 renders done" in (tmp_path / "index.html").read_text()
    summary = run_inline(TINYNET, tmp_path, layers="conv2", params={"levels": 1, "iterations": 2}, batch=2)
    assert summary.done == 6 and all(r["attempts"] == 1 for r in assert_complete(tmp_path, 6))

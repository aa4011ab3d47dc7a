"""SIGTERM (what ``timeout``, ``kill``, schedulers and CI send) is cleaned up like Ctrl-C, in every command.

Temporary files discarded, the atlas's claims handed back, no ``.part`` left,
exit status 128 + the signal (143 for SIGTERM, 130 for SIGINT, 129 for SIGHUP).
In process (a command that signals itself mid-run) for every command, and with
real processes stopped by SIGTERM mid-run for dream, render, parity record and
the atlas.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from deepdreamport.doors import cli as dream_cli
from deepdreamport.doors.signals import Terminated, interrupt_status, terminate_as_interrupt
from deepdreamport.optvis import cli as render_cli
from deepdreamport.parity import cli as parity_cli

from ..conftest import REFERENCE, TINYNET
from .conftest import QUICK_DREAM, QUICK_RENDER, deepdream_process, kill_group, run

DREAM = ["dream", TINYNET, "--layer", "relu2", "--channels", "1:3", *QUICK_DREAM, "--out", "d.png", "--npy", "d.npy"]
RENDER = ["render", TINYNET, "--objective", "conv2:1", *QUICK_RENDER, "--out", "r.png", "--npy", "r.npy"]
RECORD = ["parity", "record", TINYNET, "--layer", "relu2", "--channels", "1", "--levels", "1", "--out", "cases"]
CHECK = ["parity", REFERENCE / "cases", "--models", REFERENCE / "models", "--junit-xml", "j.xml", "--report", "rep"]


def _signal_self(signum):
    def mid_run(*_args, **_kwargs):
        os.kill(os.getpid(), signum)
        time.sleep(30)  # the handler's exception ends this at once
        raise AssertionError("the signal did not stop the command")

    return mid_run


@pytest.mark.parametrize(
    "argv, target",
    [
        (DREAM, (dream_cli, "dream_images")),
        (RENDER, (render_cli, "_render")),
        (RECORD, ("deepdreamport.parity.record._recorded", None)),
        (CHECK, (parity_cli, "judge_case")),
    ],
    ids=["dream", "render", "parity record", "parity"],
)
@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_a_signal_mid_run_leaves_nothing(argv, target, signum, status, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    where, name = target
    if name is None:
        monkeypatch.setattr(where, _signal_self(signum))
    else:
        monkeypatch.setattr(where, name, _signal_self(signum))
    previous = signal.getsignal(signal.SIGTERM)
    code, _, err = run(capsys, *argv)
    assert code == status, err
    assert f"interrupted ({signal.Signals(signum).name})" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.rglob("*")) == []  # no output, no temporary file, no folder made for them
    assert signal.getsignal(signal.SIGTERM) == previous  # the command's handler is gone again


def test_an_ignored_signal_stays_ignored():
    """``nohup`` ignores SIGHUP: a command must not take that back."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with terminate_as_interrupt():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert interrupt_status(Terminated(signal.SIGTERM)) == 143 and interrupt_status(KeyboardInterrupt()) == 130


def _wait_for(condition, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _atlas_claimed(folder: Path) -> bool:
    try:
        with sqlite3.connect(f"file:{folder / 'atlas.sqlite'}?mode=ro", uri=True, timeout=1) as connection:
            return connection.execute("SELECT count(*) FROM renders WHERE status = 'running'").fetchone()[0] > 0
    except sqlite3.Error:
        return False


@pytest.mark.slow
def test_sigterm_stops_real_processes_mid_run(tmp_path):
    """dream, render, parity record and the atlas, each started for a long run and stopped by SIGTERM mid-run."""
    long_run = {
        "dream": ["dream", TINYNET, "--layer", "relu2", "--channels", "1:6", "--levels", "1", "--iterations",
                  "100000", "--out", "d.png", "--npy", "d.npy"],
        "render": ["render", TINYNET, "--objective", "conv2:1,conv2:2", "--size", "64", "--steps", "100000",
                   "--out", "r.png", "--npy", "r.npy"],
        "parity": ["parity", "record", TINYNET, "--layer", "relu2", "--channels", "1:6", "--levels", "1",
                   "--iterations", "100000", "--out", "cases"],
        "atlas": ["atlas", TINYNET, "--out", "atlas", "--layers", "conv2,pool2", "--levels", "1", "--iterations",
                  "100000", "--batch", "2", "--workers", "1", "--quiet", "--no-gallery", "--yes", "--no-examples"],
    }  # fmt: skip
    processes: dict = {}
    try:
        for name, argv in long_run.items():
            folder = tmp_path / name
            folder.mkdir()
            processes[name] = (folder, deepdream_process(*argv, cwd=folder))
        mid_run = {  # evidence that each one has started its run (its temporary files exist, units are claimed)
            "dream": lambda f: any(f.glob(".*.part")),
            "render": lambda f: any(f.glob(".*.part")),
            "parity": lambda f: any((f / "cases").glob(".*.part")),
            "atlas": lambda f: _atlas_claimed(f / "atlas"),
        }
        for name, (folder, process) in processes.items():
            started = mid_run[name]
            _wait_for(lambda f=folder, p=process, s=started: s(f) or p.poll() is not None, f"{name} to start its run")
            assert process.poll() is None, _text(folder / "stderr")
        time.sleep(2.0)  # past loading tinynet, into the iterations (each run is hours long)
        for _, process in processes.values():
            process.send_signal(signal.SIGTERM)
        for name, (folder, process) in processes.items():
            assert process.wait(timeout=120) == 143, (name, _text(folder / "stderr"))
            assert "interrupted" in _text(folder / "stderr").strip().splitlines()[-1]
            left = sorted(p.name for p in folder.rglob("*") if p.name not in ("stdout", "stderr"))
            if name == "atlas":
                assert not [p for p in left if p.endswith(".part")], left
                with sqlite3.connect(folder / "atlas" / "atlas.sqlite") as connection:
                    statuses = dict(
                        connection.execute("SELECT status, count(*) FROM renders GROUP BY status").fetchall()
                    )
                assert "running" not in statuses and statuses.get("pending", 0) > 0, statuses  # claims handed back
            else:
                assert left == [], (name, left)

    finally:  # a failed check must not leave long runs behind (they would load the machine for hours)
        for _, process in processes.values():
            kill_group(process)

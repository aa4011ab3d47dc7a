"""Shared pieces of the atlas tests: the tiny network, tiny settings, the CLI as a subprocess, one Ray instance."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepdreamport.atlas.recipes import RECIPES, Recipe, UnitOutput, register
from deepdreamport.errors import DeepDreamError

REPO = Path(__file__).resolve().parents[2]
TINYNET = REPO / "parity" / "reference" / "models" / "tinynet.onnx"
# one level, two iterations: every unit of tinynet renders in well under a second
TINY = ["--levels", "1", "--iterations", "2"]


def atlas_command(*arguments: str) -> list[str]:
    return [sys.executable, "-m", "deepdreamport.atlas", *arguments]


def run_cli(*arguments: str, timeout: float = 240) -> subprocess.CompletedProcess:
    environment = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run(
        atlas_command(*arguments), capture_output=True, text=True, timeout=timeout, cwd=REPO, env=environment
    )


def start_cli(*arguments: str) -> subprocess.Popen:
    environment = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.Popen(
        atlas_command(*arguments), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=environment
    )


def unit_rows(folder: Path) -> list[dict]:
    """Every render (a unit with one recipe) with its unit's layer and channel."""
    connection = sqlite3.connect(f"file:{folder / 'atlas.sqlite'}?mode=ro", uri=True, timeout=30)
    connection.row_factory = sqlite3.Row
    try:
        return [
            dict(row)
            for row in connection.execute(
                "SELECT r.*, u.layer, u.layer_index, u.channel FROM renders r JOIN units u ON u.id = r.unit_id "
                "ORDER BY u.layer_index, r.recipe, u.channel"
            )
        ]
    finally:
        connection.close()


def folder_snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes: 'nothing changed' is equality of two snapshots."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_complete(folder: Path, expected_units: int) -> list[dict]:
    """Every (unit, recipe) render done exactly once, every image decodes, no temporary file left."""
    from PIL import Image

    rows = unit_rows(folder)
    assert len(rows) == expected_units
    assert len({(r["layer"], r["channel"], r["recipe"]) for r in rows}) == expected_units
    assert [r["status"] for r in rows] == ["done"] * expected_units, [
        (r["layer"], r["channel"], r["status"], r["error"]) for r in rows
    ]
    for row in rows:
        with Image.open(folder / row["image_path"]) as image:
            image.load()
            assert image.size[0] > 0
    assert not list(folder.rglob("*.part"))
    return rows


@pytest.fixture(scope="session")
def tinynet() -> Path:
    return TINYNET


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance for a test module: 2 CPUs, no dashboard."""
    import ray

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO)}},
    )
    yield ray
    ray.shutdown()


class InlineEngine:
    """The engine protocol in the test process itself (no worker start-up): for tests of what is around the engines."""

    def __init__(self, plan, label: str = "inline:0"):
        from deepdreamport.atlas.worker import UnitRenderer

        record = plan.record
        self.label = label
        self.renderer = UnitRenderer(record.model_path, record.recipes, record.seed, threads=None, label=label)
        self.pending = None

    def start(self):
        pass

    def idle_workers(self):
        return [] if self.pending else [self.label]

    def in_flight(self):
        return 1 if self.pending else 0

    def starting(self):
        return 0

    def submit(self, label, task):
        self.pending = task

    def wait(self, timeout):
        import torch

        from deepdreamport.atlas.engines import Outcome

        task, self.pending = self.pending, None
        if task is None:
            return []
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # as every worker computes: the same bytes as theirs
        try:
            return [Outcome(self.label, task, result=self.renderer.run(task))]
        except Exception as exc:  # reported as the engines report it
            return [Outcome(self.label, task, error=f"{type(exc).__name__}: {exc}")]
        finally:
            torch.set_num_threads(threads)

    def close(self):
        self.pending = None


def run_inline(model, out, **options):
    """``run_atlas`` with the in-process engine."""
    from deepdreamport.atlas.job import execute, plan_atlas

    gallery = options.pop("gallery", True)
    plan = plan_atlas(model, out, **options)
    return execute(plan, progress=False, gallery=gallery, engine=InlineEngine(plan))


def run_atlas_in_thread(folder: Path, **options):
    """``run_atlas(TINYNET, folder, **options)`` in a thread; returns the thread and a dict that gets
    ``summary`` (or ``error``)."""
    import threading

    from deepdreamport.atlas import run_atlas

    outcome: dict = {}

    def job():
        try:
            outcome["summary"] = run_atlas(TINYNET, folder, gallery=False, **options)
        except BaseException as exc:  # the test reports it
            outcome["error"] = exc

    runner = threading.Thread(target=job)
    runner.start()
    return runner, outcome


def wait_for_victim(folder: Path, runner, accept, timeout: float = 240.0):
    """Once a render is done, the first running render whose worker label ``accept`` takes (None: the job ended)."""
    import time

    deadline = time.monotonic() + timeout
    while runner.is_alive() and time.monotonic() < deadline:
        try:
            rows = unit_rows(folder)
        except Exception:  # the database does not exist yet
            rows = []
        if any(r["status"] == "done" for r in rows):
            victim = next((r for r in rows if r["status"] == "running" and accept(r["worker"] or "")), None)
            if victim is not None:
                return victim
        time.sleep(0.01)
    return None


def broken_links(folder: Path) -> list[str]:
    """Every ``href``/``src`` of the gallery's pages under ``folder`` that names no file, or no ``id`` of its page."""
    import re

    attribute = re.compile(r'(?:href|src)="([^"]*)"')
    ids: dict[Path, set] = {}

    def page_ids(page: Path) -> set:
        if page not in ids:
            ids[page] = set(re.findall(r'id="([^"]+)"', page.read_text(encoding="utf-8")))
        return ids[page]

    broken = []
    for page in sorted(folder.rglob("*.html")):
        for target in attribute.findall(page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+:", target):  # http:, data:, mailto:
                continue
            path, _, fragment = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.is_file():
                broken.append(f"{page.relative_to(folder)}: {target} (no such file)")
            elif fragment and linked.suffix == ".html" and fragment not in page_ids(linked):
                broken.append(f"{page.relative_to(folder)}: {target} (no such id)")
    return broken


@pytest.fixture
def counting_recipes():
    """Two recipes registered as a user would (no layer kinds stated): one refuses, one fails transiently."""
    calls = {"refusing": 0, "flaky": 0}

    def refusing(network, layer, channels0, seeds, params, device, on_iteration):
        calls["refusing"] += 1
        raise DeepDreamError("test:refused", "refusing: this layer is not for me")

    def flaky(network, layer, channels0, seeds, params, device, on_iteration):
        calls["flaky"] += 1
        if calls["flaky"] < 3:
            raise RuntimeError("flaky: out of luck\nsecond line")
        return [UnitOutput(np.zeros((4, 4, 3)), None, [1.0]) for _ in channels0]

    def command(model, layer, channel, params, seed, options=None):
        return "true"

    for name, render in (("refusing", refusing), ("flaky", flaky)):
        register(Recipe(name=name, description=name, defaults={}, render=render, command_line=command))
    yield calls
    for name in ("refusing", "flaky"):
        RECIPES.pop(name)

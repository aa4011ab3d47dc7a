"""A unit's image depends on nothing but its (seed, layer, unit, recipe): not on batches, workers or order.

On the CPU that is byte equality: every worker computes with one thread, each unit in a pass
of its own, from its own stream; and the command line on the unit's page gives the same bytes.
(Ray against the local engine: ``test_ray.py``.)
"""

from __future__ import annotations

import html
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from deepdreamport.atlas import run_atlas
from deepdreamport.atlas.seeds import unit_seed
from deepdreamport.atlas.worker import RenderTask, UnitRenderer, png_bytes

from .conftest import REPO, TINYNET, assert_complete, run_inline

RECIPES = {
    "matlab": {"levels": 2, "iterations": 2, "scale": 1.4},  # fc's 32×32 field grows to 44×44: tiled, rolled
    "lucid": {"steps": 2, "size": 32, "param": "fft"},
}
OPTIONS = dict(
    layers="conv2,fc",
    channels="1:3",
    recipe="matlab,lucid",
    params={"levels": 2, "iterations": 2, "steps": 2, "size": 32},
    examples=False,
)


def _hashes(folder: Path) -> dict:
    return {(r["layer"], r["channel"], r["recipe"]): r["image_sha256"] for r in assert_complete(folder, 12)}


def test_seeds_differ_per_unit_and_recipe():
    seeds = {unit_seed(0, layer, c, recipe) for layer in ("conv2", "fc") for c in (1, 2) for recipe in RECIPES}
    assert len(seeds) == 8 and unit_seed(1, "fc", 1, "matlab") != unit_seed(0, "fc", 1, "matlab")


@pytest.mark.slow
def test_a_units_image_does_not_depend_on_its_batch():
    renderer = UnitRenderer(str(TINYNET), RECIPES, 0, threads=None)
    for recipe in RECIPES:
        batch = renderer.render(RenderTask("fc", 9, recipe, (1, 2, 3), (1, 2, 3)))
        alone = [renderer.render(RenderTask("fc", 9, recipe, (c,), (c,))).units[0] for c in (3, 1, 2)]
        assert {u.channel: u.sha256 for u in batch.units} == {u.channel: u.sha256 for u in alone}
        assert len({u.sha256 for u in batch.units}) == 3
        assert len({tuple(u.curve) for u in batch.units}) == 3  # each unit's own curve, not the batch's


@pytest.fixture(scope="module")
def two_atlases(tmp_path_factory):
    """The same atlas with one worker rendering one unit per task, and with two workers eight per task."""
    folder = tmp_path_factory.mktemp("reproducible")
    run_atlas(TINYNET, folder / "one", workers=1, batch=1, **OPTIONS)
    summary = run_atlas(TINYNET, folder / "two", workers=2, batch=8, gallery=False, **OPTIONS)
    return folder, summary


@pytest.mark.slow
def test_one_worker_and_two_workers_give_the_same_bytes(two_atlases, tmp_path):
    folder, summary = two_atlases
    one, two = _hashes(folder / "one"), _hashes(folder / "two")
    assert one == two
    assert len({r["worker"] for r in assert_complete(folder / "two", 12)}) <= 2  # (the first loaded may do all)
    # wall-clock time per layer, not the workers' times added up
    assert all(0 < layer.seconds <= summary.seconds for layer in summary.layers)
    run_inline(TINYNET, tmp_path, gallery=False, batch=5, **OPTIONS)  # the engine in this process, one thread
    assert _hashes(tmp_path) == one


def _command(page: Path, recipe: str) -> list[str]:
    """The unit page's command line for ``recipe``, as words."""
    text = html.unescape(re.search(rf'<code id="command-{recipe}"[^>]*>(.*?)</code>', page.read_text(), re.S).group(1))
    words = shlex.split(text)
    assert words[0] == "OMP_NUM_THREADS=1" and words[1] in ("deepdream", "python")
    return words[1:]


def _run_in_process(words: list[str], folder: Path, monkeypatch) -> None:
    """``deepdream ...`` through its entry point, ``python -c ...`` through exec, with one thread, in ``folder``."""
    import torch

    from deepdreamport.cli import main

    monkeypatch.chdir(folder)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if words[0] == "deepdream":
            assert main(words[1:]) == 0
        else:
            assert words[1] == "-c"
            exec(compile(words[2], "<command>", "exec"), {})
    finally:
        torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize(
    "layer, channel, recipe, process",
    [("fc", 2, "matlab", True), ("conv2", 3, "lucid", False), ("fc", 1, "lucid", False)],
)
def test_the_unit_pages_command_gives_the_same_bytes(
    two_atlases, tmp_path, monkeypatch, layer, channel, recipe, process
):
    """The command run as printed (a shell's environment, a new process) once; the others through the same
    entry points in this process, with one thread."""
    atlas = two_atlases[0] / "one"
    slug = {"conv2": "005_conv2", "fc": "009_fc"}[layer]
    words = _command(atlas / "units" / slug / f"unit_{channel:04d}.html", recipe)
    seed = unit_seed(0, layer, channel, recipe)
    assert f"--seed {seed}" in " ".join(words) or f"seed={seed}" in " ".join(words)
    if process:
        command = [sys.executable, *(["-m", "deepdreamport"] if words[0] == "deepdream" else []), *words[1:]]
        environment = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
        done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    else:
        _run_in_process(words, tmp_path, monkeypatch)
    images = np.load(tmp_path / f"unit_{channel}.npy")
    image = images[..., 0] if recipe == "matlab" else images[0]  # dream: H×W×C×K; render: K×H×W×C
    expected = (atlas / "images" / slug / recipe / f"unit_{channel:04d}.png").read_bytes()
    assert png_bytes(image) == expected

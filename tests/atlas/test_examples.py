"""Dataset examples: the streaming top-k, folders of images (bad ones too), devices, resuming, changed folders."""

from __future__ import annotations

import copy
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepdreamport.atlas._package import layer_rows, load_network, outputs_module
from deepdreamport.atlas.errors import AtlasInputError
from deepdreamport.atlas.examples.chunks import score_chunk
from deepdreamport.atlas.examples.scoring import score_batch
from deepdreamport.atlas.examples.sources import check_folder, folder_facts, folder_items, load_item, skimage_items
from deepdreamport.atlas.examples.topk import LayerExamples, histogram_counts
from deepdreamport.atlas.state import AtlasState
from deepdreamport.atlas.worker import unit_activations

from .conftest import TINYNET, run_inline


def make_folder(folder: Path, rgb: int = 6, grey: int = 2, broken: int = 1) -> Path:
    """A tree of small images: RGB JPEGs and PNGs of several sizes, grey PNGs, a broken file, a text file."""
    rng = np.random.default_rng(7)
    (folder / "sub" / "deeper").mkdir(parents=True, exist_ok=True)
    for i in range(rgb):
        pixels = (rng.random((30 + 7 * i, 44 - 3 * i, 3)) * 255).astype(np.uint8)
        place = folder / ("sub" if i % 2 else "") / f"rgb_{i}.{'jpg' if i % 3 == 0 else 'png'}"
        Image.fromarray(pixels).save(place)
    for i in range(grey):
        Image.fromarray((rng.random((40, 40)) * 255).astype(np.uint8), "L").save(
            folder / "sub" / "deeper" / f"g{i}.png"
        )
    for i in range(broken):
        (folder / f"broken_{i}.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"ignored")
    return folder


def test_top_k_merges_in_any_order_to_the_whole():
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(40, 5)).round(1)  # rounded: many ties, broken by the item number
    scores[3, 2] = np.nan
    ys, xs = rng.random((40, 5)) * 32, rng.random((40, 5)) * 32
    whole = LayerExamples.of_batch(np.arange(40), scores, ys, xs, k=6)
    parts = [LayerExamples.of_batch(np.arange(s, s + 8), scores[s : s + 8], ys[s : s + 8], xs[s : s + 8], k=6)
             for s in range(0, 40, 8)]  # fmt: skip
    for order in ([0, 1, 2, 3, 4], [4, 2, 0, 3, 1]):
        merged = LayerExamples.empty(5, 6)
        for index in order:
            merged = merged.merge(parts[index])
        for name in whole.__dataclass_fields__:  # exact, but for the sums (float addition is not associative)
            same = np.allclose if name in ("total", "squares") else np.array_equal
            assert same(getattr(merged, name), getattr(whole, name), **({"rtol": 1e-12} if same is np.allclose else {}))
    expected = np.argsort(-np.where(np.isnan(scores[:, 2]), -np.inf, scores[:, 2]), kind="stable")[:6]
    assert whole.items[2].tolist() == expected.tolist()
    assert whole.count.tolist() == [40, 40, 39, 40, 40] and whole.histogram.sum(axis=1).tolist() == whole.count.tolist()
    assert LayerExamples.from_bytes(whole.to_bytes()).unit(2)[0]["item"] == int(expected[0])
    assert histogram_counts(np.array([[-1e9], [1e9]])).sum() == 2  # beyond the edges: the end bins


def test_folder_listing_fingerprint_and_decoding(tmp_path):
    folder = make_folder(tmp_path / "images")
    items = list(folder_items(folder))
    names = [item.source for item in items]
    assert names == [
        "broken_0.jpg", "rgb_0.jpg", "rgb_2.png", "rgb_4.png",  # a folder's files, then its sub-folders
        "sub/rgb_1.png", "sub/rgb_3.jpg", "sub/rgb_5.png", "sub/deeper/g0.png", "sub/deeper/g1.png",
    ]  # fmt: skip
    facts = folder_facts(folder)
    assert facts.count == 9 and facts.first_readable is not None
    rgb = load_item(str(folder), next(i for i in items if i.source.endswith("rgb_0.jpg")), 32, 3)
    assert rgb.pixels.shape == (32, 32, 3) and rgb.pixels.dtype == np.uint8 and not rgb.converted_from_grey
    grey = load_item(str(folder), next(i for i in items if i.source.endswith("g0.png")), 32, 3)
    assert grey.converted_from_grey and grey.pixels.shape == (32, 32, 3)
    assert np.array_equal(grey.pixels[..., 0], grey.pixels[..., 2])
    broken = load_item(str(folder), next(i for i in items if "broken" in i.source), 32, 3)
    assert broken.pixels is None and broken.problem
    for_grey_network = load_item(str(folder), items[1], 32, 1)
    assert for_grey_network.pixels.shape == (32, 32, 1)
    (folder / "sub" / "rgb_1.png").write_bytes((folder / "sub" / "rgb_1.png").read_bytes() + b"\0")
    assert folder_facts(folder).fingerprint != facts.fingerprint
    assert len(skimage_items(32)) > 40  # the bundled bank


@pytest.mark.parametrize(
    "setup, expected",
    [
        ("missing", "does not exist"),
        ("empty", "holds no image file"),
        ("unreadable", "holds no readable image (2 image files, none decodes"),
    ],
)
def test_bad_examples_folders(tmp_path, setup, expected):
    folder = tmp_path / "examples"
    if setup != "missing":
        folder.mkdir()
        (folder / "readme.txt").write_text("no images here")
    if setup == "unreadable":
        (folder / "a.png").write_bytes(b"\x89PNG broken")
        (folder / "b.jpg").write_bytes(b"")
    with pytest.raises(AtlasInputError) as caught:
        check_folder(folder, 3)
    assert expected in str(caught.value)
    assert caught.value.argument == "examples" and str(caught.value).startswith("examples: ")


def test_scoring_puts_every_tensor_on_the_modules_device():
    """A CPU image fed to a module elsewhere (a CUDA module on the GPU run) fails; here the module is on ``meta``."""
    network = load_network(str(TINYNET))
    outputs = [row.output for row in layer_rows(network) if row.name in ("conv2", "fc")]
    module = outputs_module(network, outputs).to("meta")
    pixels = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    results = score_batch(module, pixels, lambda x: x * 255)
    assert [tuple(r[0].shape) for r in results] == [(2, 6), (2, 5)]
    assert all(t.device.type == "meta" for result in results for t in result)
    conv2 = copy.deepcopy(network.truncated("conv2").module).to("meta")
    activations = unit_activations(conv2, np.zeros((2, 32, 32, 3)), [0, 3])
    assert activations.device.type == "meta" and activations.shape == (2,)


def test_a_chunk_counts_unreadable_and_grey_images(tmp_path):
    folder = make_folder(tmp_path / "images")
    network = load_network(str(TINYNET))
    outputs = [row.output for row in layer_rows(network) if row.name in ("conv2", "fc")]
    module = outputs_module(network, outputs).eval()
    items = list(folder_items(folder))
    summary = score_chunk(module, outputs, lambda x: x * 255, str(folder), items, 32, 3, batch=4)
    assert (summary.read, len(summary.unreadable), summary.converted_from_grey) == (8, 1, 2)
    assert summary.layers[outputs[0]].count.tolist() == [8] * 6
    best = summary.layers[outputs[0]].unit(0)[0]
    again = score_chunk(module, outputs, lambda x: x * 255, str(folder), items[::-1], 32, 3, batch=3)
    assert again.layers[outputs[0]].unit(0)[0] == best  # order and batch size do not matter


def _example_state(folder: Path) -> dict:
    connection = sqlite3.connect(folder / "atlas.sqlite")
    try:
        return {layer: LayerExamples.from_bytes(state) for layer, state in connection.execute(
            "SELECT layer, state FROM layer_examples")}  # fmt: skip
    finally:
        connection.close()


def test_examples_from_a_folder_are_resumable_and_a_changed_folder_is_refused(tmp_path, monkeypatch):
    import deepdreamport.atlas.job as job

    monkeypatch.setattr(job, "CHUNK_ITEMS", 3)  # several chunks from a small folder
    folder = make_folder(tmp_path / "images")
    options = dict(layers="conv2,fc", channels="1:2", params={"levels": 1, "iterations": 2}, examples=folder)
    whole = run_inline(TINYNET, tmp_path / "whole", gallery=False, **options)
    assert (whole.examples_scored, whole.examples_unreadable, whole.examples_converted) == (8, 1, 2)
    assert whole.examples_chunks == (6, 6)  # 9 items in 3 chunks, for 2 layers
    assert "1 unreadable files skipped; 2 grey images converted to RGB" in whole.table()

    # interrupted after two chunks (a process died holding the third): the re-run finishes with the same result
    partial = tmp_path / "partial"
    plan = job.plan_atlas(TINYNET, partial, **options)
    partial.mkdir()
    state = AtlasState(partial)
    state.start_job(plan.record, replace=False)
    state.add_renders(plan.pairs)
    count = state.add_example_items(job._example_items(plan))
    state.add_example_work(plan.example_layers, -(-count // 3))
    state.select(plan.pairs, [name for name, _ in plan.example_layers])
    from .conftest import InlineEngine

    engine = InlineEngine(plan)
    for _ in range(2):
        task = job._claim(state, plan, "inline:0", False)
        engine.submit("inline:0", task)
        job._store(state, partial, engine.wait(0)[0].result)
    assert job._claim(state, plan, "inline:0", False) is not None  # held, then the process "dies"
    state._db.execute("UPDATE owners SET pid = 2147483646")
    state.close()
    resumed = run_inline(TINYNET, partial, gallery=False, **options)
    assert resumed.examples_chunks == (6, 6) and resumed.examples_scored == 8
    first, second = _example_state(tmp_path / "whole"), _example_state(partial)
    for layer in first:
        for name in LayerExamples.__dataclass_fields__:
            same = np.allclose if name in ("total", "squares") else np.array_equal
            assert same(getattr(first[layer], name), getattr(second[layer], name)), (layer, name)

    again = run_inline(TINYNET, partial, gallery=False, **options)
    assert again.rendered_now == 0 and again.examples_chunks == (6, 6)
    Image.fromarray(np.zeros((20, 20, 3), dtype=np.uint8)).save(folder / "new.png")
    with pytest.raises(AtlasInputError, match="the examples folder changed since the atlas was made"):
        job.plan_atlas(TINYNET, partial, **options)
    replaced = run_inline(TINYNET, partial, gallery=False, new=True, **options)
    assert replaced.examples_scored == 9


def test_examples_go_to_the_right_device_in_a_worker(tmp_path):
    """The worker's whole examples path on a network whose module refuses inputs on another device."""
    from deepdreamport.atlas.worker import ExampleTask, UnitRenderer

    folder = make_folder(tmp_path / "images", rgb=2, grey=0, broken=0)
    renderer = UnitRenderer(str(TINYNET), {"matlab": {"levels": 1, "iterations": 2, "scale": 1.4}}, 0, threads=None)
    renderer.device = "meta"
    items = tuple(folder_items(folder))
    output = next(row.output for row in layer_rows(renderer.network) if row.name == "conv2")
    module = renderer._examples_module((output,))
    assert next(module.parameters()).device.type == "meta"
    task = ExampleTask(0, (1,), ("conv2",), (output,), str(folder), items, 2)
    with pytest.raises(NotImplementedError):  # meta tensors hold no values: the copy to the host refuses
        renderer.score(task)


def test_a_folder_of_grey_images_for_a_grey_network(tmp_path):
    folder = tmp_path / "grey"
    folder.mkdir()
    Image.fromarray(np.full((10, 12), 200, dtype=np.uint8), "L").save(folder / "a.png")
    shutil.copy(folder / "a.png", folder / "b.png")
    root, facts = check_folder(folder, 1)
    loaded = load_item(str(root), next(iter(folder_items(root))), 16, 1)
    assert facts.count == 2 and loaded.pixels.shape == (16, 16, 1) and not loaded.converted_from_grey
    with pytest.raises(AtlasInputError, match="takes 4 input channels"):
        check_folder(folder, 4)

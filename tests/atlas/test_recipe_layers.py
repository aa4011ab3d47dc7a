"""Recipes that cannot take a kind of layer: the matlab recipe (MATLAB's deepDreamImage) takes no token layer.

The tiny ViT of ``tests/export_networks.py`` has spatial, fully connected, batch-first token (N×17×F) and other
layers (sequence-first T×N×F, rank 5). Reference for each layer's kind: its output's rank and first axis in
onnxruntime at a batch of 2 (rank 4: spatial; rank 2: fully connected; rank 3 with the batch first: tokens; else
other); what each recipe takes is what its visualiser takes (deepDreamImage: N×C×H×W or N×C; optvis: also tokens).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from deepdreamport.atlas import recipes as recipes_module
from deepdreamport.atlas.job import execute, plan_atlas
from deepdreamport.atlas.recipes import RECIPES
from deepdreamport.onnx.graph import extract_subgraph
from tests.export_networks import tiny_vit

from .conftest import broken_links, run_cli, run_inline, unit_rows

OPTIONS = ["--levels", "1", "--iterations", "2", "--steps", "3", "--size", "16", "--no-examples", "--quiet"]


@pytest.fixture(scope="module")
def vit(tmp_path_factory) -> str:
    return tiny_vit(tmp_path_factory.mktemp("vit") / "vit.onnx")


def reference_layers(vit: str) -> dict[str, tuple[str, int]]:
    """Each layer's kind from onnxruntime's outputs for 2 images (the batch first, or other), and its channel count from those for 1 image
    (axis 1 of a rank 2 or 4 output, else the last axis); the layer names are the table's."""
    from deepdreamport.atlas._package import layer_rows, load_network

    rows = [row for row in layer_rows(load_network(vit)) if row.type != "Image Input"]
    model = extract_subgraph(onnx.load(vit), "x", [row.output for row in rows])
    images = np.random.RandomState(0).rand(2, 3, 16, 16).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString())
    found = {}
    outputs = session.run(None, {"x": images})
    maps = [output for output in outputs if output.ndim == 4]
    for row, output, alone in zip(rows, outputs, session.run(None, {"x": images[:1]})):
        channels = alone.shape[1] if alone.ndim in (2, 4) else alone.shape[-1]
        if output.shape[0] != 2:  # the batch is not first (an attention block's sequence-first internals)
            found[row.name] = ("other", channels)
        elif output.ndim in (2, 4):
            found[row.name] = ("spatial" if output.ndim == 4 else "fully connected", channels)
        elif output.ndim == 3 and any(_flattened(output, m) for m in maps):  # a 2-D map's x.flatten(2): N×C×L
            found[row.name] = ("1-D convolutional", alone.shape[1])
        else:
            found[row.name] = ("tokens" if output.ndim == 3 and output.shape[0] == 2 else "other", channels)
    return found


def _flattened(output: np.ndarray, spatial: np.ndarray) -> bool:
    """Whether ``output`` (N×A×B) is the N×C×H×W map ``spatial`` with its positions flattened (channels first)."""
    n, c = spatial.shape[:2]
    return output.shape == (n, c, spatial.shape[2] * spatial.shape[3]) and np.array_equal(
        output, spatial.reshape(n, c, -1)
    )


def reference_kinds(vit: str) -> dict[str, str]:
    return {name: kind for name, (kind, _) in reference_layers(vit).items()}


def test_a_named_token_layer_no_chosen_recipe_takes_is_refused_in_one_line(vit, tmp_path):
    assert reference_kinds(vit)["/Add_1"] == "tokens"
    result = run_cli("atlas", vit, "--layers", "/Add_1", "--channels", "1:2", "--out", str(tmp_path / "atlas"), "--yes")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "deepdream atlas: error: --layers: layer '/Add_1' is a token layer (N×tokens×features), which recipe "
        "'matlab' cannot take; --recipe lucid takes it (or maco, diversity)"
    ]
    assert result.stdout == "" and not (tmp_path / "atlas").exists()


def test_all_layers_with_two_recipes_renders_each_unit_with_the_recipes_that_take_its_layer(vit, tmp_path):
    layers = reference_layers(vit)
    kinds = {name: kind for name, (kind, _) in layers.items()}
    units = {name: min(2, channels) for name, (_, channels) in layers.items()}  # --channels 1:2
    out = tmp_path / "atlas"
    result = run_cli("atlas", vit, "--layers", "all", "--channels", "1:2", "--recipe", "matlab,lucid", "--out", str(out),
                     "--workers", "2", "--yes", *OPTIONS)  # fmt: skip
    assert result.returncode == 0, result.stderr
    tokens = sorted(name for name, kind in kinds.items() if kind == "tokens")
    conv1d = sorted(name for name, kind in kinds.items() if kind == "1-D convolutional")  # the patches, flattened
    others = sorted(name for name, kind in kinds.items() if kind == "other")
    both = sorted(name for name, kind in kinds.items() if kind in ("spatial", "fully connected"))
    assert len(tokens) == 13 and len(conv1d) == 1 and len(others) == 13 and len(both) == 11
    plan = [line for line in result.stdout.splitlines() if "leaves out" in line]
    assert plan == [
        f"atlas: recipe 'matlab' leaves out 27 layers, {sum(units[n] for n in tokens + conv1d + others)} units "
        "(1 1-D convolutional layer, 13 token layers, 13 layers of other output shapes): it takes spatial (N×C×H×W) "
        "and fully connected (N×C) layers only (MATLAB's deepDreamImage)",
        f"atlas: recipe 'lucid' leaves out 13 layers, {sum(units[n] for n in others)} units (13 layers of other "
        "output shapes): it takes spatial (N×C×H×W), fully connected (N×C), token (N×tokens×features) and 1-D "
        "convolutional (N×C×L) layers only (optvis's objectives)",
    ]
    rows = unit_rows(out)
    rendered = {}
    for row in rows:
        rendered.setdefault(row["layer"], set()).add(row["recipe"])
    assert {name for name, recipes in rendered.items() if recipes == {"lucid"}} == set(tokens + conv1d)
    assert {name for name, recipes in rendered.items() if recipes == {"matlab", "lucid"}} == set(both)
    assert not set(others) & set(rendered)
    assert len(rows) == sum(units[n] for n in tokens + conv1d) + 2 * sum(units[n] for n in both)
    assert {r["status"] for r in rows} == {"done"}
    assert f"{len(rows)}/{len(rows)} renders done, 0 failed" in result.stdout
    assert f"atlas: {len(rows)} renders left in {len(rendered)} layers" in result.stdout

    # the gallery: only pairs that exist, every link valid, nothing shown as failed or missing
    assert broken_links(out) == []
    token_unit = next(out.glob("units/*__Add_1/unit_0001.html")).read_text()
    assert 'id="recipe-lucid"' in token_unit and 'id="recipe-matlab"' not in token_unit
    assert "No matlab image: this is a token layer (N×tokens×features)" in token_unit
    spatial_unit = next(out.glob("units/*__embed_Conv/unit_0001.html")).read_text()
    assert 'id="recipe-lucid"' in spatial_unit and 'id="recipe-matlab"' in spatial_unit
    token_layer = next(out.glob("layers/*__Add_1.html")).read_text()
    assert '<option value="matlab">' not in token_layer and 'class="missing"' not in token_layer
    assert 'data-recipe="lucid"' in token_layer
    network = (out / "network.html").read_text()
    assert "failed" not in network and "missing" not in network
    index = (out / "index.html").read_text()
    assert f"{len(rows)} of {len(rows)} renders done" in index and "failed" not in index


def test_an_atlas_of_the_previous_version_resumes_without_its_impossible_renders(vit, tmp_path):
    """The previous version planned matlab renders of token layers: they failed (a traceback each). Resumed,
    they are dropped, the rest is rendered, nothing failed is left and the gallery shows none of them."""
    out = tmp_path / "atlas"
    params = {"levels": 1, "iterations": 2, "steps": 3, "size": 16}
    lucid = plan_atlas(vit, out, layers="/Add_1,/embed/Conv", channels="1", recipe="lucid",
                       params={"steps": 3, "size": 16}, examples=False)  # fmt: skip
    old = plan_atlas(vit, tmp_path / "other", layers="/embed/Conv", channels="1", recipe="matlab,lucid",
                     params=params, examples=False)  # fmt: skip
    units = lucid.units
    forced = dataclasses.replace(
        lucid,
        pairs=[(unit, recipe) for unit in units for recipe in ("matlab", "lucid")],
        recipes=["matlab", "lucid"],
        record=old.record,
        max_attempts=3,
    )  # as the previous version planned it: every unit × every recipe
    summary = execute(forced, progress=False, gallery=False, engine=None)  # the local engine: worker processes
    refused = [r for r in unit_rows(out) if r["status"] == "failed"]
    assert [(r["layer"], r["recipe"]) for r in refused] == [("/Add_1", "matlab")]
    assert summary.failed == 1 and refused[0]["attempts"] == 1  # refused once: tried once, not again
    assert "Traceback" not in refused[0]["error"] and "\n" not in refused[0]["error"]
    assert refused[0]["error"].startswith("layer: '/Add_1' outputs a tensor of shape (1, 17, 16)")

    result = run_cli("atlas", vit, "--layers", "/Add_1,/embed/Conv", "--channels", "1", "--recipe", "matlab,lucid",
                     "--out", str(out), "--workers", "1", *OPTIONS)  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = unit_rows(out)
    assert sorted((r["layer"], r["recipe"], r["status"]) for r in rows) == [
        ("/Add_1", "lucid", "done"), ("/embed/Conv", "lucid", "done"), ("/embed/Conv", "matlab", "done"),
    ]  # fmt: skip
    assert "3/3 renders done, 0 failed" in result.stdout
    assert broken_links(out) == []
    assert "failed" not in next(out.glob("units/*__Add_1/unit_0001.html")).read_text()


def test_a_refusal_is_not_tried_again_and_a_transient_error_is(vit, tmp_path, counting_recipes):
    assert RECIPES["refusing"].layer_kinds == recipes_module.LAYER_KINDS  # a user's recipe: tried on every layer
    summary = run_inline(vit, tmp_path / "atlas", layers="/Add_1", channels="1:2", recipe="refusing,flaky",
                         examples=False, batch=2, max_attempts=3, gallery=False)  # fmt: skip
    assert counting_recipes == {"refusing": 1, "flaky": 3}  # one task of 2 units each
    rows = {r["recipe"]: r for r in unit_rows(tmp_path / "atlas") if r["channel"] == 1}
    assert rows["refusing"]["status"] == "failed" and rows["refusing"]["error"] == "refusing: this layer is not for me"
    assert rows["flaky"]["status"] == "done" and rows["flaky"]["attempts"] == 3
    assert summary.failed == 2 and summary.done == 2


def test_a_custom_recipe_may_state_the_layers_it_takes(vit, tmp_path, counting_recipes):
    RECIPES["refusing"] = dataclasses.replace(RECIPES["refusing"], layer_kinds=frozenset({"spatial"}))
    plan = plan_atlas(vit, tmp_path / "atlas", layers="all", channels="1", recipe="refusing,flaky", examples=False)
    assert {u.layer for u, recipe in plan.pairs if recipe == "refusing"} == {"/embed/Conv"} | {
        name for name, kind in reference_kinds(vit).items() if kind == "spatial"
    }
    assert len([u for u, recipe in plan.pairs if recipe == "flaky"]) == 38  # every layer but the input


def test_the_python_door_says_what_a_recipe_leaves_out_when_it_shows_progress(vit, tmp_path, capsys):
    """run_atlas(progress=True) prints the command line's 'leaves out' line before rendering."""
    from deepdreamport.atlas import run_atlas

    kinds = reference_kinds(vit)
    token = next(name for name, kind in sorted(kinds.items()) if kind == "tokens")
    spatial = next(name for name, kind in sorted(kinds.items()) if kind == "spatial")
    params = {"levels": 1, "iterations": 2, "steps": 3, "size": 16}
    run_atlas(vit, tmp_path / "atlas", layers=[spatial, token], channels="1", recipe="matlab,lucid", params=params,
              examples=False, workers=1, progress=True)  # fmt: skip
    lines = [line for line in capsys.readouterr().out.splitlines() if "leaves out" in line]
    assert lines == [
        "atlas: recipe 'matlab' leaves out 1 layer, 1 unit (1 token layer): it takes spatial (N×C×H×W) and fully "
        "connected (N×C) layers only (MATLAB's deepDreamImage)"
    ], lines

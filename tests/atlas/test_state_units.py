"""The database and the unit selection, without rendering."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from deepdreamport.atlas._package import layer_rows, load_network
from deepdreamport.atlas.errors import flag_message
from deepdreamport.atlas.state import AtlasState, JobRecord, StateError, read_existing_job
from deepdreamport.atlas.units import SelectionError, Unit, parse_shard, select_units

from .conftest import TINYNET


def _record(**changes) -> JobRecord:
    values = dict(
        model_path="m.onnx",
        model_sha256="a" * 64,
        seed=0,
        package_version="0.1.0",
        network={"input_size": 32, "input_channels": 3, "layers": []},
        examples={"kind": "none"},
        recipes={"matlab": {"levels": 1}},
    )
    values.update(changes)
    return JobRecord(**values)


def _units(count: int) -> list[Unit]:
    return [Unit("conv1", 2, "Convolution", c) for c in range(1, count + 1)]


def _pairs(units: list[Unit], recipes: list[str]) -> list[tuple[Unit, str]]:
    return [(unit, recipe) for unit in units for recipe in recipes]


def test_selection_from_the_layer_table():
    rows = layer_rows(load_network(str(TINYNET)))
    units = select_units(rows, "all", None)
    assert len(units) == 8 + 8 + 8 + 6 + 6 + 6 + 294 + 5  # every layer but the input
    assert [u.channel for u in select_units(rows, "conv2,fc", [1, 2])] == [1, 2, 1, 2]
    assert select_units(rows, ["conv2", "fc"], [1, 2]) == select_units(rows, "conv2,fc", [1, 2])  # Python lists
    assert select_units(rows, "conv2", None, (2, 3)) == [Unit("conv2", 5, "Convolution", c) for c in (2, 5)]
    with pytest.raises(SelectionError, match="^layers: unknown layer 'nope'"):  # Python's name for the argument
        select_units(rows, "conv2,nope", None)
    with pytest.raises(SelectionError, match="^channels: the selection is empty"):
        select_units(rows, "conv2", [])
    with pytest.raises(SelectionError, match="^layers: expected 'all', comma-separated layer names or a list"):
        select_units(rows, 5, None)
    with pytest.raises(SelectionError, match="has 6 channels"):
        select_units(rows, "conv2", [7])
    with pytest.raises(SelectionError, match="input"):
        select_units(rows, "data", None)


@pytest.mark.parametrize("spec", ["3/2", "0/2", "1/0", "a/b", "1"])
def test_bad_shards(spec):
    with pytest.raises(SelectionError, match="^shard: ") as caught:
        parse_shard(spec)
    assert flag_message(caught.value).startswith("--shard: ")


def _done(state, render_id, worker="w") -> bool:
    return state.mark_render_done(
        render_id, worker=worker, seconds=0.1, activation=1.0, dead=False, image_path="x", image_sha256="y", curve=[]
    )


def test_claims_are_exclusive_per_recipe_and_failures_retried_up_to_the_limit(tmp_path):
    first, second = AtlasState(tmp_path), AtlasState(tmp_path)
    first.start_job(_record(recipes={"matlab": {}, "lucid": {}}), replace=False)
    first.add_renders(_pairs(_units(5), ["matlab", "lucid"]))
    for state in (first, second):
        assert state.select(_pairs(_units(5), ["matlab", "lucid"])) == 10
    a = first.claim_renders(3, "w1", max_attempts=2)
    b = second.claim_renders(3, "w2", max_attempts=2)
    assert (a.recipe, len(a.render_ids), b.recipe, len(b.render_ids)) == ("matlab", 3, "matlab", 2)
    assert not set(a.render_ids) & set(b.render_ids)
    c = first.claim_renders(8, "w1", max_attempts=2)
    assert c.recipe == "lucid" and c.channels == (1, 2, 3, 4, 5)  # one layer and one recipe per claim
    assert first.claim_renders(3, "w1", max_attempts=2) is None
    first.mark_failed("renders", a.render_ids, "boom")
    assert not _done(second, a.render_ids[0], "w2")  # not held by the second process
    retry = first.claim_renders(8, "w1", max_attempts=2)
    assert sorted(retry.render_ids) == sorted(a.render_ids)
    first.mark_failed("renders", retry.render_ids, "boom again")
    assert first.claim_renders(8, "w1", max_attempts=2) is None  # two attempts used
    assert first.counts() == {"failed": 3, "running": 7}
    assert all(_done(first, render_id) for render_id in c.render_ids)
    first.close(), second.close()


def _claim_all(folder, units, queue):
    state = AtlasState(folder)
    state.select(_pairs(units, ["matlab"]), ["conv1"])
    claimed = []
    while (claim := state.claim_renders(1, "racer", max_attempts=1)) is not None:
        claimed.extend(claim.render_ids)
    while (claim := state.claim_examples("racer", max_attempts=1)) is not None:
        claimed.extend(-i for i in claim.work_ids)
    state.close()
    queue.put(claimed)


def test_two_processes_never_claim_the_same_work(tmp_path):
    state = AtlasState(tmp_path)
    state.start_job(_record(), replace=False)
    state.add_renders(_pairs(_units(200), ["matlab"]))
    state.add_example_work([("conv1", "conv1_out")], 50)
    state.close()
    context = multiprocessing.get_context("fork")  # the racers use sqlite only: no need to import torch afresh
    queue = context.Queue()
    racers = [context.Process(target=_claim_all, args=(tmp_path, _units(200), queue)) for _ in range(2)]
    for racer in racers:
        racer.start()
    claimed = [queue.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join()
    assert len(claimed[0]) + len(claimed[1]) == 250
    assert len(set(claimed[0]) | set(claimed[1])) == 250


def test_abandoned_claims_come_back(tmp_path):
    state = AtlasState(tmp_path)
    state.start_job(_record(), replace=False)
    state.add_renders(_pairs(_units(2), ["matlab"]))
    state.add_example_work([("conv1", "conv1_out")], 1)
    state.select(_pairs(_units(2), ["matlab"]), ["conv1"])
    state.claim_renders(2, "w", max_attempts=3)
    state.claim_examples("w", max_attempts=3)
    connection = sqlite3.connect(tmp_path / "atlas.sqlite")
    connection.execute("UPDATE owners SET pid = 2147483646")  # the claiming process is gone
    connection.commit(), connection.close()
    assert state.recover_abandoned() == 3
    assert state.counts() == {"pending": 2} and state.example_counts() == {"pending": 1}
    assert {r["attempts"] for r in state.render_rows()} == {0}
    state.close()


def test_newer_and_older_schemas_and_job_differences(tmp_path):
    state = AtlasState(tmp_path)
    state.start_job(_record(), replace=False)
    state.close()
    assert read_existing_job(tmp_path) == _record()
    assert _record().differences(_record(model_sha256="b" * 64))[0].startswith("the model changed")
    assert (
        _record()
        .differences(_record(recipes={"matlab": {"levels": 2}}))[0]
        .startswith("the parameters of recipe 'matlab' changed")
    )
    assert _record().differences(_record(recipes={"lucid": {"steps": 2}})) == []  # a recipe added
    folder = {"kind": "folder", "path": "/x", "fingerprint": "1", "count": 3}
    assert (
        _record(examples=folder)
        .differences(_record(examples={**folder, "fingerprint": "2"}))[0]
        .startswith("the examples folder changed")
    )
    assert _record().differences(_record(examples=folder)) == []  # examples added to an atlas without
    connection = sqlite3.connect(tmp_path / "atlas.sqlite")
    connection.execute("PRAGMA user_version = 1")
    connection.commit(), connection.close()
    with pytest.raises(StateError, match="older deepdreamport .* pass --new"):
        read_existing_job(tmp_path)
    assert read_existing_job(tmp_path, allow_old=True) is None
    AtlasState(tmp_path, replace_old=True).close()  # --new: made afresh
    assert read_existing_job(tmp_path) is None
    connection = sqlite3.connect(tmp_path / "atlas.sqlite")
    connection.execute("PRAGMA user_version = 99")
    connection.commit(), connection.close()
    with pytest.raises(StateError, match="schema 99, newer"):
        read_existing_job(tmp_path)

"""The database and the unit selection, without rendering."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from deepdreamport.atlas._package import layer_rows, load_network
from deepdreamport.atlas.state import AtlasState, JobRecord, StateError, read_existing_job
from deepdreamport.atlas.units import SelectionError, Unit, parse_shard, select_units

from .conftest import TINYNET


def _record(**changes) -> JobRecord:
    values = dict(
        model_path="m.onnx",
        model_sha256="a" * 64,
        recipe="matlab",
        params={"levels": 1},
        seed=0,
        package_version="0.1.0",
        network={"input_size": 32, "input_channels": 3},
    )
    values.update(changes)
    return JobRecord(**values)


def _units(count: int) -> list[Unit]:
    return [Unit("conv1", 2, "Convolution", c) for c in range(1, count + 1)]


def test_selection_from_the_layer_table():
    rows = layer_rows(load_network(str(TINYNET)))
    units = select_units(rows, "all", None)
    assert len(units) == 8 + 8 + 8 + 6 + 6 + 6 + 294 + 5  # every layer but the input
    assert [u.channel for u in select_units(rows, "conv2,fc", [1, 2])] == [1, 2, 1, 2]
    assert select_units(rows, "conv2", None, (2, 3)) == [Unit("conv2", 5, "Convolution", c) for c in (2, 5)]
    with pytest.raises(SelectionError, match="unknown layer 'nope'"):
        select_units(rows, "conv2,nope", None)
    with pytest.raises(SelectionError, match="--channels: the selection is empty"):
        select_units(rows, "conv2", [])
    with pytest.raises(SelectionError, match="has 6 channels"):
        select_units(rows, "conv2", [7])
    with pytest.raises(SelectionError, match="input"):
        select_units(rows, "data", None)


@pytest.mark.parametrize("spec", ["3/2", "0/2", "1/0", "a/b", "1"])
def test_bad_shards(spec):
    with pytest.raises(SelectionError, match="--shard"):
        parse_shard(spec)


def test_claims_are_exclusive_and_failures_retried_up_to_the_limit(tmp_path):
    first, second = AtlasState(tmp_path), AtlasState(tmp_path)
    first.start_job(_record(), replace=False)
    first.add_units(_units(5))
    for state in (first, second):
        assert state.select(_units(5)) == 5
    a = first.claim(3, "w1", max_attempts=2)
    b = second.claim(3, "w2", max_attempts=2)
    assert len(a.units) == 3 and len(b.units) == 2
    assert not set(a.unit_ids) & set(b.unit_ids)
    assert first.claim(3, "w1", max_attempts=2) is None
    first.mark_failed(a.unit_ids, "boom")
    assert not second.mark_done(
        a.unit_ids[0], worker="w2", activation=1.0, image_path="x", image_sha256="y", curve=[], examples=[]
    )
    retry = first.claim(8, "w1", max_attempts=2)
    assert sorted(retry.unit_ids) == sorted(a.unit_ids)
    first.mark_failed(retry.unit_ids, "boom again")
    assert first.claim(8, "w1", max_attempts=2) is None  # two attempts used
    assert first.counts() == {"failed": 3, "running": 2}
    first.close(), second.close()


def _claim_all(folder, units, queue):
    state = AtlasState(folder)
    state.select(units)
    claimed = []
    while (claim := state.claim(1, "racer", max_attempts=1)) is not None:
        claimed.extend(claim.unit_ids)
    state.close()
    queue.put(claimed)


def test_two_processes_never_claim_the_same_unit(tmp_path):
    state = AtlasState(tmp_path)
    state.start_job(_record(), replace=False)
    state.add_units(_units(200))
    state.close()
    context = multiprocessing.get_context("fork")  # the racers use sqlite only: no need to import torch afresh
    queue = context.Queue()
    racers = [context.Process(target=_claim_all, args=(tmp_path, _units(200), queue)) for _ in range(2)]
    for racer in racers:
        racer.start()
    claimed = [queue.get(timeout=120) for _ in racers]
    for racer in racers:
        racer.join()
    assert len(claimed[0]) + len(claimed[1]) == 200
    assert len(set(claimed[0]) | set(claimed[1])) == 200


def test_abandoned_claims_come_back(tmp_path):
    state = AtlasState(tmp_path)
    state.start_job(_record(), replace=False)
    state.add_units(_units(2))
    state.select(_units(2))
    state.claim(2, "w", max_attempts=3)
    connection = sqlite3.connect(tmp_path / "atlas.sqlite")
    connection.execute("UPDATE owners SET pid = 2147483646")  # the claiming process is gone
    connection.commit(), connection.close()
    assert state.recover_abandoned() == 2
    assert state.counts() == {"pending": 2}
    assert {r["attempts"] for r in state.rows()} == {0}
    state.close()


def test_newer_schema_and_job_differences(tmp_path):
    state = AtlasState(tmp_path)
    state.start_job(_record(), replace=False)
    state.close()
    assert read_existing_job(tmp_path) == _record()
    assert _record().differences(_record(model_sha256="b" * 64))[0].startswith("the model changed")
    assert _record().differences(_record(recipe="lucid"))[0].startswith("the recipe changed")
    connection = sqlite3.connect(tmp_path / "atlas.sqlite")
    connection.execute("PRAGMA user_version = 99")
    connection.commit(), connection.close()
    with pytest.raises(StateError, match="schema 99, newer"):
        read_existing_job(tmp_path)

"""The atlas stores a refused unit with the attempts it made, and does not try it again.

A unit refused by a ``DeepDreamError`` in a worker (bad input for that layer or recipe) would be refused
again, so it is not retried; its ``attempts`` column used to say ``max_attempts`` (3) although it was tried
once. Checked against the database's rows, through the Python door and a resume by the command line.
"""

from __future__ import annotations

import sqlite3

from ..atlas.conftest import run_inline, unit_rows
from ..conftest import TINYNET
from .conftest import run


def _refused_table(out) -> list[tuple]:
    connection = sqlite3.connect(f"file:{out / 'atlas.sqlite'}?mode=ro", uri=True)
    try:
        return connection.execute("SELECT work, id FROM refused ORDER BY id").fetchall()
    finally:
        connection.close()


def test_a_refused_unit_is_stored_with_the_attempts_it_made_and_not_tried_again(tmp_path, capsys, counting_recipes):
    out = tmp_path / "atlas"
    summary = run_inline(TINYNET, out, layers="conv2", channels="1:2", recipe="refusing,flaky", examples=False,
                         batch=2, max_attempts=3, gallery=False)  # fmt: skip
    assert counting_recipes == {"refusing": 1, "flaky": 3} and summary.failed == 2 and summary.done == 2
    rows = {(r["recipe"], r["channel"]): r for r in unit_rows(out)}
    for channel in (1, 2):
        refused = rows[("refusing", channel)]
        assert (refused["status"], refused["attempts"], refused["error"]) == (
            "failed",
            1,
            "refusing: this layer is not for me",
        )
        assert (rows[("flaky", channel)]["status"], rows[("flaky", channel)]["attempts"]) == ("done", 3)
    assert _refused_table(out) == [("renders", rows[("refusing", c)]["id"]) for c in (1, 2)]

    # resumed by the command line with attempts to spare: the refusals are not claimed again
    code, stdout, err = run(capsys, "atlas", TINYNET, "--out", out, "--layers", "conv2", "--channels", "1:2",
                            "--recipe", "refusing,flaky", "--no-examples", "--max-attempts", "5", "--no-gallery",
                            "--quiet", "--workers", "1")  # fmt: skip
    assert code == 1, err  # failed units are left
    assert "2/4 renders done, 2 failed" in stdout
    assert counting_recipes == {"refusing": 1, "flaky": 3}
    assert [r["attempts"] for r in unit_rows(out) if r["recipe"] == "refusing"] == [1, 1]


def test_an_atlas_of_the_previous_version_opens_and_keeps_its_refusals_unclaimed(tmp_path, capsys, counting_recipes):
    """Schema 2 without the ``refused`` table, refusals stored with every attempt used up (as before)."""
    out = tmp_path / "atlas"
    run_inline(TINYNET, out, layers="conv2", channels="1", recipe="refusing", examples=False, max_attempts=3,
               gallery=False)  # fmt: skip
    connection = sqlite3.connect(out / "atlas.sqlite")
    with connection:
        connection.execute("DROP TABLE refused")
        connection.execute("UPDATE renders SET attempts = 3")
    connection.close()
    code, stdout, err = run(capsys, "atlas", TINYNET, "--out", out, "--layers", "conv2", "--channels", "1",
                            "--recipe", "refusing", "--no-examples", "--no-gallery", "--quiet", "--workers", "1")  # fmt: skip
    assert code == 1 and "0/1 renders done, 1 failed" in stdout, err
    assert counting_recipes["refusing"] == 1 and _refused_table(out) == []

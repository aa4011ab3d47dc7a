"""MATLAB's verbose table (DeepDreamImageSummary), character for character."""

from __future__ import annotations

import io

from deepdreamport.matlab.report import HEADER, RULE, VerboseTable, format_row

EXPECTED = """\
|==============================================|
|  Iteration  |  Activation  |  Pyramid Level  |
|             |   Strength   |                 |
|==============================================|
|           1 |         0.09 |               1 |
|           2 |        12.35 |               1 |
|           1 |      1234.57 |               2 |
|          10 |         0.00 |              12 |
|==============================================|
"""


def test_table_text_is_matlabs():
    out = io.StringIO()
    table = VerboseTable(out)
    for level, iteration, strength in [(1, 1, 0.0912), (1, 2, 12.345), (2, 1, 1234.5678), (12, 10, 0.0)]:
        table(level, iteration, strength)
    table.finish()
    assert out.getvalue() == EXPECTED


def test_row_format_and_width():
    assert format_row(3, 2.0, 1) == "|           3 |         2.00 |               1 |"
    assert len(format_row(1, 0.5, 1)) == 48 == len(RULE)
    assert all(len(line) == 48 for line in HEADER)


def test_repeated_row_is_printed_once():
    out = io.StringIO()
    table = VerboseTable(out)
    table(1, 1, 0.5)
    table(1, 1, 0.5)
    table(1, 1, 0.501)  # prints as 0.50 as well
    table(1, 2, 0.5)
    table.finish()
    lines = out.getvalue().splitlines()
    assert lines[4:] == [format_row(1, 0.5, 1), format_row(2, 0.5, 1), RULE]


def test_empty_run_prints_header_and_rule():
    out = io.StringIO()
    VerboseTable(out).finish()
    assert out.getvalue().splitlines() == [*HEADER, RULE]

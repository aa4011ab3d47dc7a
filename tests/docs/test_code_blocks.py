"""Every code block of the README and of ``docs/*.md``: run as written, or checked where it cannot run.

Quick: every block's language is known and every mark says why; every Python block (run or not) has
no undefined name (ruff's F821: the README once used an undefined ``net`` and never imported
``torch``); every bash block is valid bash, spells the commands one way (``.venv/bin/deepdream``,
``.venv/bin/python``, ``./dev``: never a bare ``deepdream`` or ``python``, which need the venv on
``PATH``) and gives the ``deepdream`` sub-commands and ``./dev bench`` only options they have.
Slow: every block not marked runs in a workspace (:mod:`.code_blocks`) and must succeed.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from .code_blocks import RUN, SHOWN, Block, all_blocks, bash_commands, make_workspace, workspace_environment

BLOCKS = all_blocks()
BARE = {"deepdream": ".venv/bin/deepdream", "python": ".venv/bin/python", "python3": ".venv/bin/python",
        "pytest": ".venv/bin/python -m pytest", "pip": ".venv/bin/python -m pip"}  # fmt: skip


def test_blocks_are_found_in_the_readme_and_the_docs():
    documents = {block.document for block in BLOCKS}
    assert {"README.md", "docs/matlab.md", "docs/optvis.md", "docs/atlas.md"} <= documents
    assert sum(block.runs for block in BLOCKS if block.document == "README.md") >= 8


def test_every_block_has_a_known_language_and_every_mark_says_why():
    unknown = [block.id for block in BLOCKS if block.language not in RUN + SHOWN]
    assert not unknown, f"blocks without a known language (one of {RUN + SHOWN}): {unknown}"
    malformed = [block.id for block in BLOCKS if block.mark == "?"]
    assert not malformed, f"write <!-- long: WHY --> or <!-- not run: WHY --> before: {malformed}"
    marked_shown = [block.id for block in BLOCKS if block.mark and block.language in SHOWN]
    assert not marked_shown, f"a {SHOWN} block is never run; its mark says nothing: {marked_shown}"


def test_python_blocks_have_no_undefined_names(tmp_path):
    blocks = [block for block in BLOCKS if block.language == "python"]
    for block in blocks:
        (tmp_path / f"{block.id.replace('/', '_').replace(':', '_').replace('.', '_')}.py").write_text(block.code)
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", "F821,F822,F823",
         "--output-format", "concise", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def _deepdream_parse_status(argv: list[str]) -> int:
    from deepdreamport.cli import build_parser

    parsed = build_parser().parse_or_status(argv)
    return parsed if isinstance(parsed, int) else 0


def _bench_parse_status(argv: list[str]) -> int:
    from benchmarks.run import parse

    try:
        parse(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 2
    return 0


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.language == "bash"], ids=lambda b: b.id)
def test_bash_block_is_valid_and_spells_its_commands_one_way(block: Block, capsys):
    syntax = subprocess.run(["bash", "-n", "-c", block.code], capture_output=True, text=True, timeout=30)
    assert syntax.returncode == 0, syntax.stderr
    commands = bash_commands(block.code)
    assert commands, "no command found"
    for argv in commands:
        assert argv[0] not in BARE, f"{' '.join(argv)[:80]}: write {BARE[argv[0]]} (the venv need not be on PATH)"
        if argv[0] == ".venv/bin/deepdream":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                assert _deepdream_parse_status(argv[1:]) == 0, f"{' '.join(argv)}: {capsys.readouterr().err}"
        if argv[:2] == ["./dev", "bench"]:
            assert _bench_parse_status(argv[2:]) == 0, f"{' '.join(argv)}: {capsys.readouterr().err}"
        if argv[0] == "./dev":
            assert argv[1:2] and argv[1] in ("demo", "test", "test-all", "bench", "lint", "setup"), " ".join(argv)


@pytest.mark.slow
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.runs], ids=lambda b: b.id)
def test_block_runs_as_written(block: Block, tmp_path, monkeypatch, request):
    if block.language == "bash":
        workspace = make_workspace(tmp_path / "workspace", request.getfixturevalue("deepdream_server"))
        done = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", block.code],
            cwd=workspace, env=workspace_environment(), capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, f"exit status {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return
    from deepdreamport.doors.degenerate import DegenerateImagesWarning

    monkeypatch.chdir(make_workspace(tmp_path / "workspace"))
    monkeypatch.setattr(sys, "argv", [str(Path(block.document).name)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateImagesWarning)  # an example that shows nothing (the CLI: exit 3)
        exec(compile(block.code, block.id, "exec"), {"__name__": "__main__"})  # noqa: S102 - the documentation's code

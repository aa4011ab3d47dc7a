"""The fenced code blocks of the README and ``docs/*.md``, and the set-up they run in.

A block is run unless the line before its fence (blank lines aside) says why not:
``<!-- long: WHY -->`` (it takes minutes) or ``<!-- not run: WHY -->`` (it cannot run inside the
test suite: a server, a cluster, a GPU, the suite itself). Only ``python`` and ``bash`` blocks are
code to run; ``text``, ``yaml``, ``matlab`` and ``toml`` blocks are shown.

Blocks run in a *workspace*: a temporary folder where the repository's data folders (``models``,
``parity``, ``docs``) are mirrored as real folders of symbolic links to the files, so a block reads
the repository's files and writes only into the workspace (nothing is copied, nothing in the
checkout changes). ``.venv/bin/deepdream``, ``.venv/bin/python`` and ``./dev`` there stand for the
environment ``./dev setup`` makes, which is the one the tests run in.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from ..conftest import REPO
from .fork_server import CLIENT

RUN = ("python", "bash")
SHOWN = ("text", "yaml", "matlab", "toml")
LINKED = ("models", "parity", "docs")
"""The repository's data folders a block may read (code is imported through ``PYTHONPATH``)."""

_FENCE = re.compile(r"^(?P<indent> *)```(?P<language>[\w-]*)\s*$")
_MARK = re.compile(r"^\s*<!--\s*(?P<kind>long|not run)\s*:\s*(?P<why>\S.*?)\s*-->\s*$")
_ANY_MARK = re.compile(r"^\s*<!--\s*(long|not run)\b")


@dataclass(frozen=True)
class Block:
    document: str  # relative to the repository
    line: int  # of the opening fence, 1-based
    language: str
    code: str
    mark: Optional[str]  # None, "long" or "not run"
    why: str

    @property
    def id(self) -> str:
        return f"{self.document}:{self.line}"

    @property
    def runs(self) -> bool:
        return self.language in RUN and self.mark is None


def documents() -> list[str]:
    return ["README.md", *(f"docs/{path.name}" for path in sorted((REPO / "docs").glob("*.md")))]


def code_blocks(document: str) -> list[Block]:
    """Every fenced block of ``document``, with the mark on the line before it (a malformed mark is a ``?`` mark)."""
    lines = (REPO / document).read_text(encoding="utf-8").splitlines()
    blocks, index = [], 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent = len(opening["indent"])
        end = next(i for i in range(index + 1, len(lines)) if lines[i].strip() == "```")
        code = "\n".join(line[indent:] if line[:indent].strip() == "" else line for line in lines[index + 1 : end])
        before = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        mark = _MARK.match(before)
        kind = mark["kind"] if mark else ("?" if _ANY_MARK.match(before) else None)
        blocks.append(Block(document, index + 1, opening["language"], code + "\n", kind, mark["why"] if mark else ""))
        index = end + 1
    return blocks


def all_blocks() -> list[Block]:
    return [block for document in documents() for block in code_blocks(document)]


# --- bash: the commands a block runs ---------------------------------------------------------------

_HEREDOC = re.compile(r"<<-?\s*(['\"]?)(?P<word>\w+)\1")
_SEPARATORS = {"&&", "||", ";", "|", "&", "(", ")", ";;"}


def bash_commands(code: str) -> list[list[str]]:
    """The simple commands of a bash block, as argument lists (continuations joined, heredoc bodies and
    comments dropped, leading ``NAME=value`` assignments dropped)."""
    lines, index = [], 0
    raw = code.splitlines()
    while index < len(raw):
        line = raw[index]
        while line.endswith("\\") and index + 1 < len(raw):
            index += 1
            line = line[:-1] + " " + raw[index]
        heredoc = _HEREDOC.search(line)
        if heredoc:
            line = line[: heredoc.start()]
            while index + 1 < len(raw) and raw[index + 1].strip() != heredoc["word"]:
                index += 1
            index += 1  # the terminator
        lines.append(line)
        index += 1
    commands = []
    for line in lines:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split, lexer.commenters = True, "#"
        current: list[str] = []
        for token in lexer:
            if token in _SEPARATORS or set(token) <= set("<>&|;()"):
                if token.startswith((">", "<")):  # a redirection: its target is not an argument
                    current.append("\0redirect")
                    continue
                commands.append(current)
                current = []
                continue
            current.append(token)
        commands.append(current)
    cleaned = []
    for command in commands:
        words = [w for i, w in enumerate(command) if w != "\0redirect" and (i == 0 or command[i - 1] != "\0redirect")]
        while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
            words = words[1:]
        if words:
            cleaned.append(words)
    return cleaned


# --- the workspace ---------------------------------------------------------------------------------


def _mirror(source: Path, target: Path) -> None:
    """``target``: real folders like ``source``'s, holding symbolic links to its files."""
    for folder, subfolders, files in os.walk(source):
        subfolders[:] = [name for name in subfolders if name != "__pycache__" and not name.startswith(".")]
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in files:
            (here / name).symlink_to(Path(folder) / name)


def _script(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


DEV_SHIM = """# ./dev once ./dev setup has run: the test suite runs in that environment, so setup has nothing to do
command=${1:-help}; [ $# -gt 0 ] && shift
case "$command" in
    setup) exit 0 ;;
    demo) exec .venv/bin/deepdream demo "$@" ;;
    bench) exec .venv/bin/python -m benchmarks "$@" ;;
    *) echo "./dev $command: not run inside the test suite; mark the block <!-- not run: ... -->" >&2; exit 97 ;;
esac"""


def make_workspace(folder: Path, server: Optional[str] = None) -> Path:
    """A workspace in ``folder``: the data folders mirrored, ``.venv/bin/{deepdream,python}`` and ``./dev``;
    ``deepdream`` is the fork server's client when ``server`` (its socket) is given, else ``python -m deepdreamport``."""
    for name in LINKED:
        _mirror(REPO / name, folder / name)
    _script(folder / ".venv" / "bin" / "python", f'exec "{sys.executable}" "$@"')
    deepdream = folder / ".venv" / "bin" / "deepdream"
    _script(deepdream, f'exec "{sys.executable}" -m deepdreamport "$@"')
    if server is not None:
        deepdream.write_text(CLIENT.format(python=sys.executable, socket_path=server))
    _script(folder / "dev", DEV_SHIM)
    return folder


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    """The fork server (:mod:`.fork_server`) on a socket in ``folder``, once it says it is ready."""
    socket_path = str(folder / "deepdream.sock")
    log = open(folder / "server.log", "w")  # noqa: SIM115 - the server's lifetime
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("fork_server.py")), socket_path],
        stdout=subprocess.PIPE, stderr=log, text=True, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    if server.stdout.readline().strip() != "ready":
        server.kill()
        raise RuntimeError(f"the fork server did not start: {(folder / 'server.log').read_text()[-2000:]}")
    return server, socket_path


def workspace_environment() -> dict[str, str]:
    """The environment of a bash block: this checkout importable, no virtual environment on ``PATH``
    (a command that only works with the venv on ``PATH`` fails, as on a fresh shell)."""
    venv_bin = str(Path(sys.executable).parent)
    path = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry and entry != venv_bin]
    path = [entry for entry in path if not (Path(entry) / "deepdream").exists()]
    environment = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONHOME")}
    environment.update(PATH=os.pathsep.join(path), PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
    return environment

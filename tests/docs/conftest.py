from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from .code_blocks import start_server


@pytest.fixture(scope="session")
def deepdream_server():
    """The documentation's ``deepdream`` commands run forked from one process that imported torch once
    (:mod:`.fork_server`); stopped when the session ends. Yields the socket's path."""
    with tempfile.TemporaryDirectory(prefix="dd-docs-") as folder:  # short: a UNIX socket path has ~100 bytes
        server, socket_path = start_server(Path(folder))
        try:
            yield socket_path
        finally:
            server.terminate()
            server.wait(timeout=30)
            server.stdout.close()

"""A fork server for the documentation's bash blocks: ``deepdream`` commands without importing torch each time.

    python tests/docs/fork_server.py SOCKET

Every ``deepdream`` command spends about 4 s of a 2-core machine importing torch and onnx2torch
before it reads its arguments; the documentation's blocks run about twenty of them. This process
imports them (and every sub-command's module) once, prints ``ready``, and for each request on the
UNIX socket ``SOCKET`` forks a child that takes the client's standard streams, working folder,
environment and arguments and runs :func:`deepdreamport.cli.main` with them, exactly as
``python -m deepdreamport`` does; the child sends its exit status back and exits with it. The
parent never runs a tensor operation, so the children start with no thread pools to inherit.
:data:`CLIENT` is the ``deepdream`` a workspace puts in ``.venv/bin/``: it falls back to
``python -m deepdreamport`` when no server answers.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import traceback

CLIENT = '''#!{python} -S
"""`deepdream ARGS` run by the documentation tests' fork server (tests/docs/fork_server.py)."""
import json, os, socket, sys

try:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect({socket_path!r})
except OSError:
    os.execv({python!r}, [{python!r}, "-m", "deepdreamport", *sys.argv[1:]])
request = json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}}).encode()
socket.send_fds(connection, [len(request).to_bytes(8, "big") + request], [0, 1, 2])
status = b""
while len(status) < 4:
    chunk = connection.recv(4 - len(status))
    if not chunk:
        print("deepdream: the command ended without an exit status (killed?)", file=sys.stderr)
        sys.exit(1)
    status += chunk
sys.exit(int.from_bytes(status, "big", signed=True))
'''

PRELOADED = ("torch", "onnx2torch", "deepdreamport.cli", "deepdreamport.doors.cli", "deepdreamport.optvis.cli",
             "deepdreamport.parity.cli", "deepdreamport.atlas.cli")  # fmt: skip


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    data, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    size = int.from_bytes(data[:8], "big")
    data = data[8:]
    while len(data) < size:
        data += connection.recv(size - len(data))
    return json.loads(data), fds


def _run_child(connection: socket.socket, fds: list[int], request: dict) -> None:
    """In the forked child: become the client's command, run it, report the status, exit."""
    status = 1
    try:
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["deepdream", *request["argv"]]
        from deepdreamport.cli import main

        try:
            status = main(request["argv"])
        except SystemExit as stop:
            status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - the child reports everything and exits
        traceback.print_exc()
        status = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        try:
            connection.sendall(int(status).to_bytes(4, "big", signed=True))
        finally:
            os._exit(int(status) & 0xFF)


def _reap() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def serve(socket_path: str) -> None:
    for name in PRELOADED:
        importlib.import_module(name)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(16)
    print("ready", flush=True)
    while True:
        connection, _ = server.accept()
        request, fds = _receive(connection)
        sys.stdout.flush()
        sys.stderr.flush()
        if os.fork() == 0:
            server.close()
            _run_child(connection, fds, request)
        connection.close()
        for fd in fds:
            os.close(fd)
        _reap()


if __name__ == "__main__":
    serve(sys.argv[1])

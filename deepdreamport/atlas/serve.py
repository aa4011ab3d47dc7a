"""``deepdream serve DIR``: the gallery over HTTP with the standard library only (no torch, instant start).

The gallery is static files with relative links, so any web server works as well; this one
is for a quick look (``--host 0.0.0.0`` to let other machines in).
"""

from __future__ import annotations

import argparse
import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ..input_files import folder_problem, user_path
from ..input_files import shown as shown_path


def _error(message: str) -> int:
    print(f"deepdream serve: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # one line per request would drown the URL
        pass


def serve(folder, port: int = 8000, host: str = "127.0.0.1", announce=print) -> int:
    """Serve ``folder`` on ``host``:``port`` (0: any free port) until interrupted; returns the exit status."""
    problem = folder_problem(folder, "atlas folder")
    if problem:
        return _error(f"DIR: {problem}")
    folder = Path(user_path(folder)).resolve()
    if not (folder / "index.html").is_file():
        return _error(f"DIR: {shown_path(folder)} has no index.html (run deepdream atlas first)")
    if not 0 <= port <= 65535:
        return _error(f"--port: expected 0..65535; got {port}")
    try:
        server = ThreadingHTTPServer((host, port), functools.partial(_QuietHandler, directory=str(folder)))
    except OSError as exc:
        return _error(f"--host/--port: cannot listen on {host}:{port} ({exc.strerror or exc})")
    shown = host if host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    shown = f"[{shown}]" if ":" in shown else shown
    announce(f"serving {folder} at http://{shown}:{server.server_address[1]}/ (Ctrl-C to stop)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def run_serve_command(args: argparse.Namespace) -> int:
    """``deepdream serve DIR [--host H] [--port P]``."""
    return serve(args.dir, args.port, args.host)

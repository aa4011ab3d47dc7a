"""``deepdream atlas`` and ``deepdream serve``.

:func:`add_parsers` adds both subcommands to the ``deepdream`` parser; each
sets ``handler`` to a function that takes the parsed arguments and returns the
exit status: 0 done, 1 some units failed or an engine broke, 2 bad input (one
line on stderr; nothing written), 130 interrupted (re-run to resume).
"""

from __future__ import annotations

import argparse
import functools
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .commands import add_parsers as add_parsers  # re-exported: the parsers of these handlers
from .errors import AtlasInputError, EngineError
from .job import execute, plan_atlas
from .verify import verify_atlas


def _error(command: str, message: str) -> int:
    print(f"deepdream {command}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def run_atlas_command(args: argparse.Namespace) -> int:
    """``deepdream atlas``: render or resume an atlas, or ``--verify`` one."""

    try:
        if args.verify:
            if args.model is not None:
                return _error("atlas", "--verify: give the atlas folder only (the model is recorded in it)")
            damaged, strays, summary = verify_atlas(
                args.verify,
                engine=args.engine,
                workers=args.workers,
                ray_address=args.ray_address,
                batch=args.batch,
                progress=not args.quiet,
                gallery=not args.no_gallery,
            )
            for stray in strays:
                print(f"removed unfinished temporary file {stray}")
            for damage in damaged:
                print(f"damaged: {damage.line()}")
            print(
                f"verify: {len(damaged)} damaged image(s) found and rendered again"
                if damaged
                else "verify: every image is intact"
            )
            if summary is not None:
                print(summary.table())
            return 0 if summary is None or summary.failed == 0 else 1
        if args.model is None:
            return _error("atlas", "MODEL: the ONNX model is required (or use --verify DIR)")
        if args.out is None:
            return _error("atlas", "--out: the atlas folder is required")
        plan = plan_atlas(
            args.model,
            args.out,
            layers=args.layers,
            channels=args.channels,
            recipe=args.recipe,
            params={
                "levels": args.levels,
                "iterations": args.iterations,
                "scale": args.scale,
                "steps": args.steps,
                "size": args.size,
                "param": args.param,
            },
            engine=args.engine,
            workers=args.workers,
            ray_address=args.ray_address,
            batch=args.batch,
            shard=args.shard,
            seed=args.seed,
            new=args.new,
            max_attempts=args.max_attempts,
        )
        summary = execute(plan, progress=not args.quiet, gallery=not args.no_gallery)
    except AtlasInputError as exc:
        return _error("atlas", str(exc))
    except EngineError as exc:
        print(f"deepdream atlas: {exc}; re-run the same command to resume", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("deepdream atlas: interrupted; re-run the same command to resume", file=sys.stderr)
        return 130
    print(summary.table())
    if not args.no_gallery:
        print(f"gallery: {Path(summary.out) / 'index.html'} (deepdream serve {summary.out})")
    return 0 if summary.failed == 0 else 1


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # one line per request would drown the URL
        pass


def serve(folder, port: int = 8000, announce=print) -> int:
    """Serve ``folder`` on 127.0.0.1:``port`` (0: any free port) until interrupted; returns the exit status."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        return _error("serve", f"DIR: {str(folder)!r} is not a folder")
    if not (folder / "index.html").is_file():
        return _error("serve", f"DIR: {str(folder)!r} has no index.html (run deepdream atlas first)")
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_QuietHandler, directory=str(folder)))
    except OSError as exc:
        return _error("serve", f"--port: cannot listen on 127.0.0.1:{port} ({exc.strerror})")
    announce(f"serving {folder} at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def run_serve_command(args: argparse.Namespace) -> int:
    """``deepdream serve DIR``."""
    return serve(args.dir, args.port)

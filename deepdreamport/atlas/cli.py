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

from .errors import AtlasInputError, EngineError
from .job import execute, plan_atlas
from .recipes import RECIPES
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


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def add_parsers(subparsers) -> None:
    """Add ``atlas`` and ``serve`` to a ``deepdream`` subparsers object."""

    atlas = subparsers.add_parser(
        "atlas",
        help="render every unit of a network's layers into a browsable atlas",
        description="Render one image per unit (channel) of the chosen layers, K units of a layer per batch, "
        "into DIR (state in DIR/atlas.sqlite, images in DIR/images, gallery DIR/index.html). "
        "Re-running the same command resumes.",
    )
    atlas.add_argument("model", metavar="MODEL.onnx", nargs="?", help="ONNX network (not with --verify)")
    atlas.add_argument("--out", metavar="DIR", help="atlas folder (created if missing)")
    atlas.add_argument(
        "--verify", metavar="DIR", help="check the images of the atlas in DIR and render damaged ones again"
    )
    atlas.add_argument("--layers", default="all", help="comma-separated layer names, or all (default)")
    atlas.add_argument(
        "--channels", default="all", help="1-based channels, MATLAB style (1:8, 1,3,5), or all (default)"
    )
    atlas.add_argument(
        "--recipe", default="matlab", help=f"how units are visualised: {', '.join(sorted(RECIPES))} (default matlab)"
    )
    atlas.add_argument("--levels", type=int, help="recipe parameter: pyramid levels (matlab default 3)")
    atlas.add_argument("--iterations", type=int, help="recipe parameter: iterations per level (matlab default 10)")
    atlas.add_argument("--scale", type=float, help="recipe parameter: pyramid scale (matlab default 1.4)")
    atlas.add_argument("--steps", type=int, help="recipe parameter: optimisation steps (lucid default 256)")
    atlas.add_argument("--size", type=int, help="recipe parameter: image side in pixels (lucid default 128)")
    atlas.add_argument("--param", help="recipe parameter: image parametrisation, fft/pixel/laplacian/cppn/maco (lucid)")
    atlas.add_argument("--seed", type=int, default=0, help="random seed of every unit's render (default 0)")
    atlas.add_argument(
        "--engine", choices=("local", "ray"), default="local", help="local process pool (default) or Ray"
    )
    atlas.add_argument("--ray-address", help="join the Ray cluster at HOST:PORT (default: a local Ray instance)")
    atlas.add_argument("--workers", type=_positive_int, help="worker count (default: one per GPU, else 2)")
    atlas.add_argument(
        "--batch", type=_positive_int, default=8, help="units of one layer rendered together (default 8)"
    )
    atlas.add_argument("--shard", metavar="I/N", help="render only shard I of N (1-based)")
    atlas.add_argument(
        "--max-attempts", type=_positive_int, default=3, help="tries per unit before it stays failed (default 3)"
    )
    atlas.add_argument("--new", action="store_true", help="replace an atlas of another model, recipe or seed in DIR")
    atlas.add_argument("--no-gallery", action="store_true", help="do not (re)build the HTML gallery")
    atlas.add_argument("--quiet", action="store_true", help="no progress bar")
    atlas.set_defaults(handler=run_atlas_command)

    serve_parser = subparsers.add_parser(
        "serve",
        help="serve an atlas gallery on 127.0.0.1",
        description="Serve DIR (an atlas folder) with Python's http.server on 127.0.0.1 and print the URL.",
    )
    serve_parser.add_argument("dir", metavar="DIR", help="atlas folder")
    serve_parser.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    serve_parser.set_defaults(handler=run_serve_command)

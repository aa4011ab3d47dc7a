"""The arguments of ``deepdream atlas`` and ``deepdream serve``; the handlers are in :mod:`.cli` and :mod:`.serve`.

Standard library only, and the handlers are named, not imported, so that parsing and
``--help`` import no torch (see :mod:`deepdreamport.doors.commands`); ``deepdream serve``
never imports torch at all.
"""

from __future__ import annotations

from ..doors.arguments import port, positive_float, positive_int, scale_above_one, seed

MEMORY_ADVICE = "a smaller --batch, fewer --workers, a smaller --size (lucid) or fewer --levels (matlab)"
"""What to change when an atlas runs out of memory (the command's own options)."""
BUILT_IN_RECIPES = ("diversity", "lucid", "maco", "matlab")
"""The recipes :mod:`.recipes` registers (the ones a command line can name), for ``--help``."""


def add_parsers(subparsers) -> None:
    """Add ``atlas`` and ``serve`` to a ``deepdream`` subparsers object."""

    atlas = subparsers.add_parser(
        "atlas",
        help="render every unit of a network's layers into a browsable atlas",
        description="Render one image per unit (channel) of the chosen layers with each chosen recipe, and score "
        "dataset examples, into DIR (state in DIR/atlas.sqlite, images in DIR/images, gallery DIR/index.html). "
        "Re-running the same command resumes.",
    )
    atlas.add_argument("model", metavar="MODEL.onnx", nargs="?", help="ONNX network (not with --verify)")
    atlas.add_argument("--out", metavar="DIR", help="atlas folder (created if missing; an empty folder or an atlas)")
    atlas.add_argument(
        "--verify", metavar="DIR", help="check the images of the atlas in DIR and render damaged ones again"
    )
    atlas.add_argument(
        "--layers",
        default="all",
        help="comma-separated layer names or row numbers of `deepdream layers` (1-based; #12 is always row 12), "
        "or all (default)",
    )
    atlas.add_argument(
        "--channels", default="all", help="1-based channels, MATLAB style (1:8, 1,3,5), or all (default)"
    )
    atlas.add_argument(
        "--recipe",
        default="matlab",
        help=f"how units are visualised, one or several comma-separated: {', '.join(BUILT_IN_RECIPES)} "
        "(default matlab)",
    )
    atlas.add_argument(
        "--examples", metavar="DIR", help="dataset examples from a folder tree of images (default: bundled photographs)"
    )
    atlas.add_argument("--no-examples", action="store_true", help="score no dataset examples")
    atlas.add_argument("--levels", type=positive_int, help="recipe parameter: pyramid levels (matlab default 3)")
    atlas.add_argument(
        "--iterations", type=positive_int, help="recipe parameter: iterations per level (matlab default 10)"
    )
    atlas.add_argument("--scale", type=scale_above_one, help="recipe parameter: pyramid scale (matlab default 1.4)")
    atlas.add_argument(
        "--steps", type=positive_int, help="recipe parameter: optimisation steps (lucid, maco, diversity: 256)"
    )
    atlas.add_argument(
        "--size", type=positive_int, help="recipe parameter: image side in pixels (lucid, maco 128; diversity 96)"
    )
    atlas.add_argument(
        "--param", help="recipe parameter: parametrisation fft/pixel/laplacian/cppn/maco (lucid, diversity)"
    )
    atlas.add_argument(
        "--weight", type=positive_float, help="recipe parameter: diversity weight (diversity, default 100)"
    )
    atlas.add_argument("--seed", type=seed, default=0, help="seed of the atlas; each unit draws its own stream from it")
    atlas.add_argument("--engine", choices=("local", "ray"), default="local", help="local processes (default) or Ray")
    atlas.add_argument("--ray-address", help="join the Ray cluster at HOST:PORT (default: a local Ray instance)")
    atlas.add_argument(
        "--workers", type=positive_int, help="worker count (default: one per GPU, else one per CPU core)"
    )
    atlas.add_argument(
        "--batch", type=positive_int, default=8, help="renders of one layer and recipe per task (default 8)"
    )
    atlas.add_argument("--shard", metavar="I/N", help="render only shard I of N (1-based)")
    atlas.add_argument(
        "--max-attempts", type=positive_int, default=3, help="tries per unit before it stays failed (default 3)"
    )
    atlas.add_argument("--new", action="store_true", help="replace an atlas of another model, recipe or seed in DIR")
    atlas.add_argument("--yes", action="store_true", help="start a large atlas without asking")
    atlas.add_argument("--no-gallery", action="store_true", help="do not (re)build the HTML gallery")
    atlas.add_argument("--quiet", action="store_true", help="no progress bar")
    atlas.set_defaults(handler=f"{__package__}.cli:run_atlas_command", memory_advice=MEMORY_ADVICE)

    serve_parser = subparsers.add_parser(
        "serve",
        help="serve an atlas gallery over HTTP",
        description="Serve DIR (an atlas folder) with Python's http.server and print the URL (no torch is loaded).",
    )
    serve_parser.add_argument("dir", metavar="DIR", help="atlas folder")
    serve_parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0: all)"
    )
    serve_parser.add_argument("--port", type=port, default=8000, help="port (default 8000; 0 picks a free one)")
    serve_parser.set_defaults(handler=f"{__package__}.serve:run_serve_command")

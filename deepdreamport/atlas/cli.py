"""``deepdream atlas``: render or resume an atlas, or ``--verify`` one (``deepdream serve`` is :mod:`.serve`).

The handler returns the exit status: 0 done, 1 some renders failed or an engine broke,
2 bad input (one line on stderr naming the flag; nothing written), 130 interrupted
(SIGINT or SIGTERM: claims handed back, gallery brought up to date; re-run to resume).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .commands import add_parsers as add_parsers  # re-exported: the parsers of these handlers
from .errors import AtlasInputError, EngineError, flag_message
from .job import execute, plan_atlas
from .signals import interrupt_status
from .verify import verify_atlas


def _error(message: str) -> int:
    print(f"deepdream atlas: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def _confirmed(plan, args: argparse.Namespace) -> bool:
    """Whether a large atlas may start: ``--yes``, or a yes typed on a terminal."""
    if args.yes or plan.estimate is None or not plan.estimate.large:
        return True
    if not sys.stdin.isatty():
        return False
    try:
        answer = input("deepdream atlas: this is a large atlas; start it? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def _verify(args: argparse.Namespace) -> int:
    if args.model is not None:
        return _error("--verify: give the atlas folder only (the model is recorded in it)")
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


def run_atlas_command(args: argparse.Namespace) -> int:
    """``deepdream atlas``: render or resume an atlas, or ``--verify`` one."""
    try:
        if args.verify:
            return _verify(args)
        if args.model is None:
            return _error("MODEL: the ONNX model is required (or use --verify DIR)")
        if args.out is None:
            return _error("--out: the atlas folder is required")
        if args.examples is not None and args.no_examples:
            return _error("--examples: not with --no-examples")
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
                "weight": args.weight,
            },
            examples=False if args.no_examples else args.examples,
            engine=args.engine,
            workers=args.workers,
            ray_address=args.ray_address,
            batch=args.batch,
            shard=args.shard,
            seed=args.seed,
            new=args.new,
            max_attempts=args.max_attempts,
        )
        for left_out in plan.left_out:
            print(f"atlas: {left_out.line()}", flush=True)
        if plan.estimate is not None:
            print(f"atlas: {plan.estimate.line()}", flush=True)
        if not _confirmed(plan, args):
            return _error("--yes: this is a large atlas (see the estimate above); pass --yes to start it, or choose "
                          "fewer --layers/--channels")  # fmt: skip
        summary = execute(plan, progress=not args.quiet, gallery=not args.no_gallery)
    except AtlasInputError as exc:
        return _error(flag_message(exc))
    except EngineError as exc:
        print(f"deepdream atlas: {exc}; re-run the same command to resume", file=sys.stderr)
        return 1
    except KeyboardInterrupt as interrupt:
        print("deepdream atlas: interrupted; re-run the same command to resume", file=sys.stderr)
        return interrupt_status(interrupt)
    print(summary.table())
    if not args.no_gallery:
        print(f"gallery: {Path(summary.out) / 'index.html'} (deepdream serve {summary.out})")
    return 0 if summary.failed == 0 else 1

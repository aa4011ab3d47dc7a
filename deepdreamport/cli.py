"""The ``deepdream`` command line.

Subcommands: ``parity`` (check the port against MATLAB reference cases).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional, Sequence


def _parity(args: argparse.Namespace) -> int:
    from .parity import find_cases, load_case, run_case, CaseResult

    try:
        paths = find_cases(args.paths)
    except FileNotFoundError as exc:
        print(f"deepdream parity: {exc}", file=sys.stderr)
        return 2
    if not paths:
        print("deepdream parity: no case files (*.mat) found", file=sys.stderr)
        return 2
    all_passed = True
    if not args.json:
        print(f"{'case':40s} {'prec':6s} {'Iraw rel':>10s} {'Ilinear rel':>11s} {'strength':>9s} {'rolls':>5s}  verdict")
    for path in paths:
        try:
            result = run_case(load_case(path), args.models, device=args.device)
        except Exception as exc:  # a broken case is a failed case, reported and not fatal
            result = CaseResult(path.stem, "?", float("inf"), float("inf"), float("inf"), False, 0.0, f"{type(exc).__name__}: {exc}")
        all_passed &= result.passed
        if args.json:
            print(json.dumps(result.as_dict()))
        else:
            verdict = "PASS" if result.passed else "FAIL" + (f" ({result.error})" if result.error else "")
            print(
                f"{result.case:40s} {result.precision:6s} {result.iraw_relative_error:10.2e} "
                f"{result.ilinear_relative_error:11.2e} {result.strength_abs_error:9.2e} "
                f"{'yes' if result.rolls_match else 'NO':>5s}  {verdict}"
            )
    return 0 if all_passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepdream", description="MATLAB's deepDreamImage on ONNX networks, in PyTorch.")
    commands = parser.add_subparsers(dest="command", required=True)

    parity = commands.add_parser(
        "parity",
        help="check the port against MATLAB reference cases",
        description="Run every schema-v1 case file and compare with MATLAB's numbers "
        "(double 1e-10, single 1e-5 relative; strengths 1e-4 absolute; rolls exact). Exit 0 only if all pass.",
    )
    parity.add_argument("paths", nargs="+", help="case .mat files or folders of them")
    parity.add_argument("--models", required=True, help="folder holding the cases' ONNX networks")
    parity.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    parity.add_argument("--json", action="store_true", help="one JSON object per case")
    parity.set_defaults(handler=_parity)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

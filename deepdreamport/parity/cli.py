"""``deepdream parity``: check cases (MATLAB-made or recorded) and ``record`` new ones.

Checking: ``deepdream parity CASES... --models DIR [--json] [--junit-xml FILE]
[--report DIR]`` runs every case, prints a table (or one JSON object per case)
and the readable diff of each failure; exit 0 only if all pass, 1 if any fails.

Recording: ``deepdream parity record MODEL --layer L --channels C --out DIR
[options]`` or ``deepdream parity record --batch CASES.toml --out DIR``.

A re-exported model (another sha256, the same numbers): ``--accept-model-change``
lets a float64 case pass when its numbers agree, and says so in the verdict;
``deepdream parity record --update-model CASES --models DIR --out DIR`` stores
the new sha256 in the cases after the same check.

Bad input ends with one line on stderr naming the argument, exit status 2.
Every output file is written atomically and no input is ever overwritten.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from . import _package
from .cases import CASE_FIELDS, find_cases, load_case
from .commands import RECORD_WORD
from .commands import add_parity_parser as add_parity_parser  # re-exported: the parser of run_parity
from .judge import CaseResult, Judgement, broken_case_result, describe_result, judge_case, verdict_text
from .junit import junit_xml
from .record import (
    RecordError,
    RecordSpec,
    channels_from,
    read_batch,
    record_batch,
    record_case,
    update_model_hashes,
)
from .report import write_failure_report

# option dest -> (flag, default when recording); None on the parser so that misuse is detectable
RECORD_OPTIONS = {
    "layer": ("--layer", None),
    "channels": ("--channels", None),
    "out": ("--out", None),
    "batch": ("--batch", None),
    "image": ("--image", None),
    "size": ("--size", None),
    "iterations": ("--iterations", 10),
    "levels": ("--levels", 3),
    "scale": ("--scale", 1.4),
    "seed": ("--seed", 0),
    "precision": ("--precision", "double"),
    "tile_size": ("--tile-size", None),
    "name": ("--name", None),
    "overwrite": ("--overwrite", False),
    "update_model": ("--update-model", None),
}


class UsageError(ValueError):
    """Bad command-line input: one line, exit status 2."""


def _recording_value(args: argparse.Namespace, dest: str):
    value = getattr(args, dest)
    return RECORD_OPTIONS[dest][1] if value is None else value


def _recording_options_given(args: argparse.Namespace, *allowed: str) -> list[str]:
    """The flags of recording options given on the command line, except ``allowed`` (dests)."""
    return [
        flag for dest, (flag, _) in RECORD_OPTIONS.items() if dest not in allowed and getattr(args, dest) is not None
    ]


def _update_model(args: argparse.Namespace, rest: list[str]) -> int:
    """``record --update-model CASES --models DIR --out DIR``: re-hash cases whose numbers still agree."""
    if rest:
        raise UsageError(f"MODEL: not with --update-model (got {rest[0]!r}); the cases name their models")
    given = _recording_options_given(args, "out", "overwrite", "update_model")
    if given:
        raise UsageError(f"{given[0]}: not with --update-model (the cases keep their recorded settings)")
    if args.models is None:
        raise UsageError("--models: the folder holding the cases' current ONNX networks is required (a folder)")
    args.models = str(_package.check_input_folder(args.models, "--models", "models folder"))
    paths = _case_files(args.update_model, "--update-model")
    updated, judgements = update_model_hashes(
        paths, args.models, args.out, overwrite=bool(args.overwrite), device=args.device or "cpu"
    )
    if not updated:
        print("nothing written: the port no longer gives these cases' numbers with the current models\n")
        for judgement in judgements:
            if not judgement.result.numeric_passed:
                print(describe_result(judgement.result))
        return 1
    for case, judgement in zip(updated, judgements):
        result = judgement.result
        change = (
            f"model sha256 {result.recorded_sha256[:12]}… → {result.current_sha256[:12]}…"
            if result.model_changed
            else "model unchanged"
        )
        print(f"wrote {case.path} ({change}; numbers agree: Iraw relative error {result.iraw_relative_error:.1e})")
    return 0


def _record(args: argparse.Namespace, rest: list[str]) -> int:
    out = args.out
    if out is None:
        raise UsageError("--out: the folder for the recorded case files is required")
    if args.update_model:
        return _update_model(args, rest)
    if args.batch is not None:
        if rest:
            raise UsageError(f"MODEL: give either MODEL or --batch, not both (got {rest[0]!r} and --batch)")
        given = _recording_options_given(args, "out", "batch", "overwrite")
        if args.device is not None:
            given.append("--device")
        if given:
            raise UsageError(f"{given[0]}: with --batch, options go into the TOML file")
        specs = read_batch(args.batch)
        cases = record_batch(specs, out, overwrite=bool(args.overwrite))
    else:
        if len(rest) != 1:
            raise UsageError(f"MODEL: `deepdream parity record` takes one ONNX file; got {len(rest)} paths")
        for dest in ("layer", "channels"):
            if getattr(args, dest) is None:
                raise UsageError(f"{RECORD_OPTIONS[dest][0]}: required to record")
        model = _package.check_onnx_path(rest[0], "MODEL")  # the text itself: a URL is named before it is a Path
        if args.image is not None:
            args.image = str(_package.check_input_file(args.image, "--image", "image"))  # ~ expanded
        spec = RecordSpec(
            model=model,
            layer=args.layer,
            channels=channels_from(args.channels, "--channels"),
            name=args.name or "",
            image=Path(args.image) if args.image else None,
            size=args.size,
            iterations=_recording_value(args, "iterations"),
            levels=_recording_value(args, "levels"),
            scale=_recording_value(args, "scale"),
            seed=_recording_value(args, "seed"),
            precision=_recording_value(args, "precision"),
            tile_size=args.tile_size,
            device=args.device or "cpu",
        )
        cases = [record_case(spec, out, overwrite=bool(args.overwrite))]
    for case in cases:
        print(f"wrote {case.path} ({case.precision}, {case.network} sha256 {case.provenance.model_sha256[:12]}…)")
    return 0


def _print_row(result: CaseResult) -> None:
    verdict = f"FAIL ({result.error})" if result.error else verdict_text(result)
    print(
        f"{result.case:40s} {result.precision:6s} {result.iraw_relative_error:10.2e} "
        f"{result.ilinear_relative_error:11.2e} {result.strength_abs_error:9.2e} "
        f"{'yes' if result.rolls_match else 'NO':>5s}  {verdict}"
    )


def _case_files(paths: list[str], argument: str) -> list[Path]:
    """The case files named by ``paths`` (files or folders of them); at least one."""
    skipped: list[Path] = []
    try:
        found = find_cases(paths, on_skipped=skipped.append)
    except FileNotFoundError as exc:
        raise UsageError(f"{argument}: {exc}") from None
    if not found:
        raise UsageError(f"{argument}: no case files (*.mat holding {', '.join(CASE_FIELDS)}) found")
    for path in skipped:
        print(f"skipped {path}: not a parity case (it lacks {', '.join(CASE_FIELDS)})", file=sys.stderr)
    return found


def _check_inputs(args: argparse.Namespace) -> tuple[list[Path], dict[str, Path]]:
    """The case files, and every input (case files, their folders, the models folder and its files) by name."""
    misplaced = _recording_options_given(args)
    if misplaced:
        raise UsageError(f"{misplaced[0]}: only for `deepdream parity record`")
    if args.models is None:
        raise UsageError("--models: the folder holding the cases' ONNX networks is required")
    args.models = str(_package.check_input_folder(args.models, "--models", "models folder"))
    paths = _case_files(args.paths, "PATH")
    inputs = {f"case file {p.name}": p for p in paths}
    inputs.update({f"case path {p}": Path(p) for p in args.paths})
    inputs["--models folder"] = Path(args.models)
    inputs.update({f"model {p.name}": p for p in Path(args.models).iterdir()})
    return paths, inputs


def _check(args: argparse.Namespace) -> int:
    device = str(_package.resolve_device(args.device or "cpu", "--device"))
    paths, inputs = _check_inputs(args)
    if args.report is not None:
        report = _package.check_output_folder("--report", args.report, inputs)
    outputs = {"--junit-xml": args.junit_xml}
    with _package.reserved_outputs(outputs, inputs, {"--junit-xml": (".xml",)}) as reserved:
        started = datetime.datetime.now(datetime.timezone.utc)
        if not args.json:
            print(
                f"{'case':40s} {'prec':6s} {'Iraw rel':>10s} {'Ilinear rel':>11s} {'strength':>9s} {'rolls':>5s}  verdict"
            )
        judgements: list[Judgement] = []
        durations: list[float] = []
        for path in paths:
            start = time.perf_counter()
            try:
                judgement = judge_case(
                    load_case(path), args.models, device=device, accept_model_change=args.accept_model_change
                )
            except Exception as exc:  # a broken case is a failed case, reported and not fatal
                judgement = Judgement(broken_case_result(path.stem, exc))
            durations.append(time.perf_counter() - start)
            judgements.append(judgement)
            if args.json:
                print(json.dumps(judgement.result.as_dict()))
            else:
                _print_row(judgement.result)
        results = [j.result for j in judgements]
        failures = [j for j in judgements if not j.result.passed]
        accepted = [j for j in judgements if j.result.model_change_accepted]
        if (failures or accepted) and not args.json:
            print()
            for judgement in accepted + failures:
                print(describe_result(judgement.result))
        if "--junit-xml" in reserved:
            document = junit_xml(results, durations, started)
            reserved["--junit-xml"].commit(lambda handle: handle.write(document))
        if args.report is not None and failures:
            report.mkdir(exist_ok=True)
            for judgement in failures:
                write_failure_report(judgement, report)
    return 0 if not failures else 1


def run_parity(args: argparse.Namespace) -> int:
    """Run ``deepdream parity`` from parsed arguments; returns the exit status."""
    try:
        if args.paths[0] == RECORD_WORD:
            checking = ("json", "junit_xml", "report", "accept_model_change") + (
                () if args.update_model else ("models",)
            )
            if any(getattr(args, o) for o in checking):
                raise UsageError(
                    "--models/--json/--junit-xml/--report/--accept-model-change: only for checking, not for `record` "
                    "(--models also with `record --update-model`)"
                )
            return _record(args, args.paths[1:])
        return _check(args)
    except (UsageError, RecordError) as exc:
        raise _package.DeepDreamError("deepdreamport:parity:BadArgument", str(exc)) from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m deepdreamport.parity ...`` (the arguments of ``deepdream parity``), run as ``deepdream`` runs it."""
    parser = _package.CommandParser(prog="deepdream", description="deepdream parity (stand-alone entry)")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_parity_parser(subparsers)
    args = parser.parse_or_status(["parity", *(sys.argv[1:] if argv is None else argv)])
    return args if isinstance(args, int) else _package.run_command(args)

"""The arguments of ``deepdream parity`` (check and ``record``); the handler is :func:`.cli.run_parity`.

Standard library only, and the handler is named, not imported, so that parsing and
``deepdream parity --help`` import no torch (see :mod:`deepdreamport.doors.commands`).
"""

from __future__ import annotations

import argparse

from ..doors.arguments import image_size, positive_int, scale_above_one, seed

RECORD_WORD = "record"
MEMORY_ADVICE = "fewer cases at once, or a case with a smaller image, fewer channels or fewer levels"
"""What to change when a parity run does not fit in memory."""


class _ParityHelp(argparse.Action):
    """``--help``: the check's help, or ``record``'s own when the first path is ``record``.

    ``record`` is the first positional word, not an argparse sub-command (``deepdream parity
    CASES...`` takes any paths), so argparse alone would print the check's help for
    ``deepdream parity record --help``. The positionals before ``--help`` are parsed by then.
    """

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        paths = getattr(namespace, "paths", None) or []
        if paths[:1] == [RECORD_WORD]:
            record_help_parser(parser.prog, type(parser)).print_help()
        else:
            parser.print_help()
        parser.exit()


def _add_record_options(record) -> None:
    """The options of ``deepdream parity record`` (on ``record``: a parser or an argument group)."""
    record.add_argument(
        "--layer", help="layer name, or its row number in `deepdream layers MODEL` (1-based; #12 is always row 12)"
    )
    record.add_argument("--channels", help="1-based channels, MATLAB style: 1:3, 1,5,9")
    record.add_argument(
        "--out", metavar="DIR", help="folder for the case files (created, with missing parents, if missing)"
    )
    record.add_argument("--batch", metavar="FILE", help="TOML list of cases ([defaults] and [[case]] tables)")
    record.add_argument(
        "--image", help="initial image (PNG/JPEG, pixels 0-255); default randn after rng(seed) plus the input mean"
    )
    record.add_argument(
        "--size",
        type=image_size,
        help="HxW of the random initial image (default: the network's input size; a smaller one, such as 64x64, "
        "makes smaller case files)",
    )
    record.add_argument("--iterations", type=positive_int, help="NumIterations per level (default 10)")
    record.add_argument("--levels", type=positive_int, help="PyramidLevels (default 3)")
    record.add_argument("--scale", type=scale_above_one, help="PyramidScale, > 1 (default 1.4)")
    record.add_argument("--seed", type=seed, help="rng(seed, 'twister') (default 0)")
    record.add_argument("--precision", choices=("single", "double"), help="single or double (default double)")
    record.add_argument("--tile-size", type=positive_int, help="TileSize for networks with a dynamic input size")
    record.add_argument("--name", help="case name (default MODEL_LAYER_PRECISION)")
    record.add_argument("--overwrite", action="store_true", default=None, help="replace existing case files")
    record.add_argument(
        "--update-model",
        nargs="+",
        metavar="CASE",
        help="store the sha256 of the current model files (--models) in these recorded cases (files or folders) "
        "after checking that the port still gives their numbers; writes them to --out (their own folder needs "
        "--overwrite)",
    )


def record_help_parser(parity_prog: str, parser_class=argparse.ArgumentParser) -> argparse.ArgumentParser:
    """A parser of ``deepdream parity record``'s options, for its ``--help`` only (parsing is the parity parser's)."""
    prog = f"{parity_prog} {RECORD_WORD}"
    record = parser_class(
        prog=prog,
        usage=f"{prog} MODEL --layer L --channels C --out DIR [options]\n"
        f"       {prog} --batch CASES.toml --out DIR [--overwrite]\n"
        f"       {prog} --update-model CASE... --models DIR --out DIR [--overwrite]",
        description="Record parity cases with the port: run deepDreamImage on MODEL after rng(seed,'twister') and "
        "write a schema-v1 case file (MATLAB v5 .mat, compressed) with the model's sha256. "
        "`deepdream parity CASES --models DIR` checks them later.",
    )
    record.add_argument("paths", nargs="?", metavar="MODEL", help="the ONNX network to record")
    record.add_argument("--device", help="torch device to record on (cpu, auto, gpu, cuda:1); default cpu")
    record.add_argument("--models", help="with --update-model: the folder holding the cases' current ONNX networks")
    _add_record_options(record)
    return record


def add_parity_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``parity`` subcommand to ``subparsers`` (from ``add_subparsers``); returns its parser."""
    parity = subparsers.add_parser(
        "parity",
        add_help=False,
        help="check the port against parity cases, or record cases with it",
        description="Check: run every schema-v1 case file and compare (MATLAB cases: double 1e-10, single 1e-5 "
        "relative; strengths 1e-4 absolute; rolls exact. Recorded cases: 1e-10 (float64) / 1e-5 (float32) relative, "
        "model sha256 must match unless --accept-model-change). Exit 0 only if all pass. "
        "Record: `deepdream parity record MODEL --layer L --channels C --out DIR` or "
        "`deepdream parity record --batch CASES.toml --out DIR` (`deepdream parity record --help`).",
    )
    parity.add_argument("-h", "--help", action=_ParityHelp, help="show this help (`record --help`: record's options)")
    parity.add_argument(
        "paths", nargs="+", metavar="PATH", help="case .mat files or folders of them; or `record [MODEL]`"
    )
    check = parity.add_argument_group("checking")
    check.add_argument("--models", help="folder holding the cases' ONNX networks (required to check)")
    check.add_argument("--device", help="torch device to check or record on (cpu, auto, gpu, cuda:1); default cpu")
    check.add_argument("--json", action="store_true", help="one JSON object per case")
    check.add_argument("--junit-xml", metavar="FILE.xml", help="also write the verdicts as JUnit XML")
    check.add_argument(
        "--report", metavar="DIR", help="write reference/port/difference PNGs and numbers for each failing case"
    )
    check.add_argument(
        "--accept-model-change",
        action="store_true",
        help="a float64 recorded case whose model file changed (sha256) passes when its numbers still agree; "
        "the verdict says so (float32 cases still fail: their tolerance can hide a changed weight)",
    )
    _add_record_options(parity.add_argument_group("recording (deepdream parity record ...; see record --help)"))
    parity.set_defaults(handler=f"{__package__}.cli:run_parity", memory_advice=MEMORY_ADVICE)
    return parity

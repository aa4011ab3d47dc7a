"""The pictures of the README and ``docs/``, made by the package's own commands (the tests run it at small size).

    .venv/bin/python docs/make_pictures.py [demo] [gallery] [parity] [--small] [--out DIR]

- ``demo``: ``deepdream demo``'s montage (``docs/pictures/demo.png``);
- ``gallery``: ``deepdream render`` of EfficientNet-Lite0's ``_blocks/10/Add`` channels 1-4 with each
  parametrisation, 96 px, 64 Adam steps at its default learning rate, seed 0, and CMA-ES (16 generations
  of 16) (``docs/optvis/gallery-*.png``);
- ``parity``: ``deepdream parity --report`` on a MATLAB reference case checked against a copy of its
  model with one weight changed by 1e-3: the report's reference, port and difference pictures stacked
  (``docs/pictures/parity-report.png``).

Without a name, all three. ``--small`` makes them at the tests' sizes; ``--out DIR`` writes every picture
into ``DIR`` instead of ``docs/``. Run from the repository root after ``./dev setup``. Every picture is
written by the ``deepdream`` command's own code (:func:`deepdreamport.cli.main`, in this process, so the
torch import is paid once); the script adds only the parity figure's stacking.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's package, also when the script is run by path

MODEL = "models/efficientnet_lite0.onnx"
UNITS = ",".join(f"_blocks/10/Add:{channel}" for channel in range(1, 5))  # channels count from 1
RECIPES = {  # picture name: deepdream render's options
    "fft": ["--param", "fft"],
    "pixel": ["--param", "pixel", "--no-decorrelate", "--transforms", "none"],
    "laplacian": ["--param", "laplacian"],
    "maco": ["--param", "maco"],
    "cppn": ["--param", "cppn"],
}
PARITY_CASE = "tinynet_conv2_tiled"
PARITY_MODEL = "tinynet.onnx"
REFERENCE = ROOT / "parity" / "reference"


def deepdream(*argv: str) -> None:
    """``deepdream ARGV`` in this process; a non-zero exit status stops the script."""
    from deepdreamport.cli import main

    status = main([str(arg) for arg in argv])
    if status != 0:
        raise SystemExit(f"deepdream {' '.join(map(str, argv))}: exit status {status}")


def make_demo(out: Path, small: bool) -> list[Path]:
    target = out / "demo.png"
    deepdream(
        "demo",
        "--model",
        ROOT / MODEL,
        "--out",
        target,
        *(["--levels", 1, "--iterations", 2, "--channels", "1:2"] if small else []),
    )
    return [target]


def make_gallery(out: Path, small: bool) -> list[Path]:
    size, steps, generations, population = (32, 2, 2, 4) if small else (96, 64, 16, 16)
    common = ["render", ROOT / MODEL, "--objective", UNITS, "--size", size, "--seed", 0, "--quiet"]
    written = []
    for name, options in RECIPES.items():
        written.append(out / f"gallery-{name}.png")
        deepdream(*common, "--steps", steps, *options, "--out", written[-1])
    written.append(out / "gallery-cmaes.png")
    deepdream(*common, "--steps", generations, "--optimizer", "cmaes", "--population", population, "--out", written[-1])
    return written


def make_parity_report(out: Path, small: bool) -> list[Path]:
    """A failing check's report: the MATLAB case against its model with the first convolution's first weight + 1e-3."""
    import onnx
    from onnx import numpy_helper
    from PIL import Image

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        (scratch / "cases").mkdir()
        (scratch / "models").mkdir()
        shutil.copy(REFERENCE / "cases" / f"{PARITY_CASE}.mat", scratch / "cases")
        model = onnx.load(str(REFERENCE / "models" / PARITY_MODEL))
        weight = next(node for node in model.graph.node if node.op_type == "Conv").input[1]
        tensor = next(t for t in model.graph.initializer if t.name == weight)
        values = numpy_helper.to_array(tensor).copy()
        values.flat[0] += 1e-3
        tensor.CopyFrom(numpy_helper.from_array(values, weight))
        onnx.save(model, str(scratch / "models" / PARITY_MODEL))
        from deepdreamport.cli import main

        status = main(["parity", str(scratch / "cases"), "--models", str(scratch / "models"),
                       "--report", str(scratch / "report")])  # fmt: skip
        if status != 1:
            raise SystemExit(f"deepdream parity: expected the changed model to fail (exit 1), got {status}")
        sheets = [Image.open(scratch / "report" / PARITY_CASE / f"{name}.png").convert("RGB")
                  for name in ("reference", "port", "difference")]  # fmt: skip
        figure = Image.new("RGB", (max(s.width for s in sheets), sum(s.height for s in sheets)), "white")
        top = 0
        for sheet in sheets:
            figure.paste(sheet, (0, top))
            top += sheet.height
        target = out / "parity-report.png"
        figure.save(target)
    return [target]


MAKERS = {"demo": make_demo, "gallery": make_gallery, "parity": make_parity_report}
DEFAULT_FOLDERS = {"demo": "docs/pictures", "gallery": "docs/optvis", "parity": "docs/pictures"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pictures", nargs="*", metavar="{demo,gallery,parity}", help="which (default: all)")
    parser.add_argument("--small", action="store_true", help="the tests' sizes (fast, not for the docs)")
    parser.add_argument("--out", type=Path, help="write every picture here instead of docs/")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.pictures) - set(MAKERS))
    if unknown:
        parser.error(f"unknown picture {unknown[0]!r}; expected one of {', '.join(MAKERS)}")
    for name in args.pictures or list(MAKERS):
        folder = args.out if args.out is not None else ROOT / DEFAULT_FOLDERS[name]
        folder.mkdir(parents=True, exist_ok=True)
        for path in MAKERS[name](folder, args.small):
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

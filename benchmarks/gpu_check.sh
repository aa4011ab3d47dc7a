#!/usr/bin/env bash
# The GPU check of issue 17, one prepared run under 8 minutes on one CUDA GPU, with the machine's own torch:
#   parity suite on the device (eager, and with replayed levels), parity record, host synchronisations,
#   the first call by part, GPU kernel time / wall, figures 1/2/3/5/6/11, render / lucent, atlas units per
#   minute (matlab and lucid recipes), the demo, cuDNN/cuBLAS first use, the batch picked from free memory.
# Each step is its own process with its own time limit; results are written as they come. $OUT ends with at
# most four files: results.json, README.md (the table, with date, GPU and torch), logs.tar.gz, demo.png.
#
#   usage: PYTHON=python3 benchmarks/gpu_check.sh [--cpu-dry-run] [--only STEP,...] [--budget SECONDS]
#
# PYTHON (default python3) is the machine's interpreter, with torch; the project goes on PYTHONPATH.
# Packages it lacks are installed from wheels brought along in .cache/gpu-wheels (made by
# benchmarks/gpu_wheels.sh on a machine with the registry): only those the interpreter cannot import,
# with pip install --no-index --no-deps --target into a temporary folder, nothing of the machine's replaced.
# --cpu-dry-run: every step on the CPU at tiny sizes (the script's own test: tests/test_gpu_check.py).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=${OUT:-out/gpu-check}
mkdir -p "$OUT"
DEPS=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check-deps.XXXXXX")
trap 'rm -rf "$DEPS"' EXIT
# the wheels whose module this python cannot find (find_spec: nothing is imported)
missing=$("$PYTHON" - .cache/gpu-wheels/*.whl <<'PY'
import importlib.util, os, sys
names = {"scikit_learn": "sklearn", "bayesian_optimization": "bayes_opt", "torch_lucent": "lucent"}
for wheel in sys.argv[1:]:
    if os.path.exists(wheel):
        project = os.path.basename(wheel).split("-")[0].lower()
        if importlib.util.find_spec(names.get(project, project)) is None:
            print(wheel)
PY
)
installed=()
for wheel in $missing; do
    if "$PYTHON" -m pip --version >/dev/null 2>&1; then
        "$PYTHON" -m pip install --quiet --no-index --no-deps --target "$DEPS" "$wheel" >/dev/null 2>&1 ||
            echo "could not install $wheel"
    else  # no pip: a wheel is a zip of what pip would copy
        "$PYTHON" -m zipfile -e "$wheel" "$DEPS" || echo "could not unpack $wheel"
    fi
    installed+=("$(basename "$wheel")")
done
if [ -d "$DEPS/lucent" ] && ! "$PYTHON" -c "import IPython.display" >/dev/null 2>&1; then
    # lucent imports IPython.display for its notebook display only (never called by render_vis here)
    mkdir -p "$DEPS/IPython"
    printf '' >"$DEPS/IPython/__init__.py"
    printf 'def display(*args, **kwargs):\n    raise RuntimeError("no IPython here")\n\n\nclass HTML:\n    def __init__(self, *args, **kwargs):\n        raise RuntimeError("no IPython here")\n' >"$DEPS/IPython/display.py"
    installed+=("IPython.display (stub)")
fi
echo "installed from .cache/gpu-wheels: ${installed[*]:-nothing}"
export PYTHONPATH="$PWD:$DEPS${PYTHONPATH:+:$PYTHONPATH}"
"$PYTHON" -m benchmarks.gpu_check --out "$OUT" "$@"

#!/usr/bin/env bash
# Download, on a machine with the package registry, the wheels that benchmarks/gpu_check.sh installs on a GPU
# machine that has torch but no registry (issue 17). Into .cache/gpu-wheels (git-ignored; carry it along:
# a few MiB). gpu_check.sh installs from there only what the machine's python cannot import, with
#   pip install --no-index --no-deps --target DIR WHEEL
# so nothing of the machine's own (torch, numpy, scipy, onnx, ...) is replaced.
#
#   usage: benchmarks/gpu_wheels.sh [PYTHON_VERSION]      (default 3.12, the GPU machine's; run from anywhere)
#
# Pure-Python wheels: onnx2torch (the conversion), nevergrad and what it imports (cma, bayesian-optimization,
# directsearch; bayes_opt imports scikit-learn, which needs joblib, threadpoolctl, narwhals), and, for figure 3
# with the real lucent, torch-lucent 0.1.8, kornia 0.4.1 and decorator (benchmarks/requirements-lucent.txt). scikit-learn
# is compiled: its manylinux wheel for PYTHON_VERSION on x86-64. Versions are the ones pinned in
# requirements/lock.txt where it pins them, else the shared environment's.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.cache/gpu-wheels
PYTHON_VERSION=${1:-3.12}
PIP=(${PIP:-/work/main/.venv/bin/python -m pip})
mkdir -p "$DEST"
PURE=(
    onnx2torch==1.5.15
    nevergrad==1.0.12
    cma==4.5.0
    bayesian-optimization==1.4.0
    directsearch==1.1
    joblib==1.6.0
    threadpoolctl==3.8.0
    narwhals==2.29.0
    torch-lucent==0.1.8
    kornia==0.4.1
    decorator==5.3.1
)
"${PIP[@]}" download --quiet --no-deps --dest "$DEST" "${PURE[@]}"
"${PIP[@]}" download --quiet --no-deps --only-binary=:all: --python-version "$PYTHON_VERSION" \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    --dest "$DEST" scikit-learn==1.9.1
ls -l "$DEST"
du -sh "$DEST"

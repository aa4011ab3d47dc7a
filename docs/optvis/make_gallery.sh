#!/bin/sh
# The optvis gallery (docs/optvis/gallery-*.png): channels 1-4 of EfficientNet-Lite0's _blocks/10/Add with each
# parametrisation, 96 px, 64 steps (CMA-ES: 16 generations of 16). Made by docs/make_pictures.py, which runs
# `deepdream render` for each; run after ./dev setup, from anywhere: nothing needs to be on PATH.
# PYTHON=/path/to/python picks another interpreter; --small --out DIR makes the tests' small version.
set -e
cd "$(dirname "$0")/../.."
exec "${PYTHON:-.venv/bin/python}" docs/make_pictures.py gallery "$@"

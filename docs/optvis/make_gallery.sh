#!/bin/sh
# The README gallery: four units (channels 1-4) of EfficientNet-Lite0's _blocks/10/Add per recipe, 96 px, 64 steps (16 CMA-ES generations).
# Run from the repository root after ./dev setup (it makes models/efficientnet_lite0.onnx).
set -e
UNITS=_blocks/10/Add:1,_blocks/10/Add:2,_blocks/10/Add:3,_blocks/10/Add:4  # channels from 1
for recipe in "fft" "pixel --no-decorrelate --transforms none" "laplacian" "maco" "cppn"; do
    name=$(echo "$recipe" | cut -d' ' -f1)
    deepdream render models/efficientnet_lite0.onnx --objective $UNITS --size 96 --steps 64 \
        --param $recipe --seed 0 --quiet --out docs/optvis/gallery-$name.png
done
deepdream render models/efficientnet_lite0.onnx --objective $UNITS --size 96 --steps 16 \
    --optimizer cmaes --population 16 --seed 0 --quiet --out docs/optvis/gallery-cmaes.png

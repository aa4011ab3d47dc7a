"""The numerical core of MATLAB's deep dream: tensors in, tensors out.

One module per toolbox function: :mod:`.resize` (``resizeImage``),
:mod:`.pyramid` (``LaplacianPyramid`` / ``laplacianNormalizedImage``),
:mod:`.tiles` (``TiledGradients``), :mod:`.objective` (the channel-average
output layer), :mod:`.loop` (``deepDreamImageLaplacianNorm``). Nothing here
imports the rest of the package, validates user input or loads a network.
"""

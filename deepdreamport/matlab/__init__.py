"""MATLAB compatibility: the rules of MATLAB's side of ``deepDreamImage``.

:mod:`.options` (``inputParser`` / ``validatestring``), :mod:`.rng` (``rng``
and the twister stream), :mod:`.layout` (H×W×C×K arrays), :mod:`.report` (the
verbose table), :mod:`.activations` (``activations(net, X, layer)``).
"""

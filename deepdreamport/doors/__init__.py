"""The front doors: the MATLAB drop-in, the Python API and the ``deepdream`` command.

:mod:`.run` is the one implementation behind them all; :mod:`.matlab`
(``deepDreamImage``), :mod:`.python` (``deep_dream_image``) and :mod:`.cli`
only translate arguments; :mod:`.files` holds their file handling.
"""

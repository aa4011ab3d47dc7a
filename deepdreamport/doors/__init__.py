"""The front doors: the MATLAB drop-in, the Python API and the ``deepdream`` command.

:mod:`.run` is the one implementation behind them all; :mod:`.matlab`
(``deepDreamImage``), :mod:`.python` (``deep_dream_image``) and :mod:`.cli`
only translate arguments; :mod:`.files` reads their inputs and draws montages.
What every command of the package shares lives here too: :mod:`.commands`
(running a command, its errors), :mod:`.arguments` (the parser and number
types), :mod:`.outputs` (output checks, atomic writes), :mod:`.numbering`
(1-based rows and channels, the layer-name rule), :mod:`.signals` (SIGTERM
as Ctrl-C) and :mod:`.guard` (the memory guard).
"""

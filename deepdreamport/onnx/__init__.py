"""Reading ONNX files and converting them to torch: no MATLAB semantics here.

:mod:`.read` (files, bytes, external data), :mod:`.passes` (ONNX → ONNX
fix-ups, one module per pass), :mod:`.converters` (extra onnx2torch
converters), :mod:`.convert` (``prepare`` and ``to_torch``), :mod:`.static_pads`
(constant ``Pad`` inputs made static after conversion), :mod:`.graph` (helpers on
graphs).
"""

"""What the parity kit takes from the port: running a dream, layouts, the MATLAB stream, networks.

Kept in one module so that the kit's other modules name the port's pieces the
same way everywhere (``_package.run_deep_dream``).
"""

from __future__ import annotations

from .._version import __version__ as PACKAGE_VERSION
from ..core.loop import DreamResult, DreamSettings, scale_linear
from ..doors.commands import parse_channels
from ..doors.degenerate import degenerate_warnings
from ..doors.files import write_atomic
from ..doors.run import resolve_device, run_deep_dream
from ..errors import DeepDreamError
from ..matlab.layout import matlab_squeeze, to_hwck
from ..matlab.rng import twister
from ..nets import VisualNetwork
from ..nets import load_network as as_network

__all__ = [
    "PACKAGE_VERSION",
    "DeepDreamError",
    "DreamResult",
    "DreamSettings",
    "VisualNetwork",
    "as_network",
    "degenerate_warnings",
    "matlab_squeeze",
    "parse_channels",
    "resolve_device",
    "run_deep_dream",
    "scale_linear",
    "to_hwck",
    "twister",
    "write_atomic",
]

"""The one place where the parity kit touches the rest of deepdreamport.

Everything the kit needs from the port (running a dream, layouts, the MATLAB
random stream, loading networks, the package version) is imported here and
nowhere else, so that moving the port's modules means fixing only this file.
"""

from __future__ import annotations

from .. import __version__ as PACKAGE_VERSION
from ..dream import DreamResult, DreamSettings, scale_linear
from ..engine import as_network, resolve_device, run_deep_dream
from ..errors import DeepDreamError
from ..matlab_layout import matlab_squeeze, to_hwck
from ..network import VisualNetwork
from ..rng import twister


def parse_channels(spec: str) -> list[int]:
    """MATLAB-style 1-based channel list (``1:8``, ``1:2:9``, ``1,3,5``), parsed as ``deepdream`` does."""
    # imported on use: deepdreamport.cli imports this kit to add its parity subcommand
    from ..cli import parse_channels as parse

    return parse(spec)


__all__ = [
    "PACKAGE_VERSION",
    "DeepDreamError",
    "DreamResult",
    "DreamSettings",
    "VisualNetwork",
    "as_network",
    "matlab_squeeze",
    "parse_channels",
    "resolve_device",
    "run_deep_dream",
    "scale_linear",
    "to_hwck",
    "twister",
]
